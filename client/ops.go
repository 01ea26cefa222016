package client

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client/internal/assetjson"
)

// Workspace is one workspace as listed, plus its details when read with
// GetWorkspace.
type Workspace struct {
	Name        string
	URL         string
	BucketName  string
	CreatedTime time.Time
	UpdatedTime time.Time
	// MonthlyAnalysisCount is only filled by GetWorkspace; HasMonthly says
	// whether the API sent it.
	MonthlyAnalysisCount int64
	HasMonthly           bool
}

// Project is one project of a workspace.
type Project struct {
	ID          int64
	Name        string
	IsBase      bool
	CreatedTime time.Time
	UpdatedTime time.Time
}

type workspaceJSON struct {
	WorkspaceName        string     `json:"workspaceName"`
	WorkspaceURL         string     `json:"workspaceUrl"`
	BucketName           string     `json:"bucketName"`
	CreatedTime          flexString `json:"createdTime"`
	UpdatedTime          flexString `json:"updatedTime"`
	MonthlyAnalysisCount flexInt    `json:"monthlyAnalysisCount"`
}

func (c *Client) workspace(w workspaceJSON) Workspace {
	return Workspace{
		Name:                 w.WorkspaceName,
		URL:                  w.WorkspaceURL,
		BucketName:           w.BucketName,
		CreatedTime:          c.parseTime(string(w.CreatedTime)),
		UpdatedTime:          c.parseTime(string(w.UpdatedTime)),
		MonthlyAnalysisCount: w.MonthlyAnalysisCount.V,
		HasMonthly:           w.MonthlyAnalysisCount.Set,
	}
}

func (c *Client) parseTime(s string) time.Time {
	if sec, ok := ParseTime([]byte(s), c.loc); ok {
		return time.Unix(sec, 0)
	}
	return time.Time{}
}

type pageJSON[T any] struct {
	Content    []T     `json:"content"`
	TotalCount flexInt `json:"totalCount"`
	TotalPage  flexInt `json:"totalPage"`
	PageNo     flexInt `json:"pageNo"`
	PageSize   flexInt `json:"pageSize"`
}

func (p *pageJSON[T]) info() PageInfo {
	return PageInfo{TotalCount: p.TotalCount.V, TotalPage: p.TotalPage.V, PageNo: p.PageNo.V, PageSize: p.PageSize.V, Items: len(p.Content)}
}

func pageQuery(page, size int) string {
	return "pageNum=" + strconv.Itoa(page) + "&pageSize=" + strconv.Itoa(size)
}

// ListWorkspaces reads every page of the workspace list. Workspaces with a
// name that is not valid are dropped with an error naming them, so that a
// bad name can never reach a signed path; the valid ones are returned too.
func (c *Client) ListWorkspaces(ctx context.Context) ([]Workspace, error) {
	var (
		out   []Workspace
		seen  = map[string]bool{}
		bad   []string
		pages int64 = 1
	)
	for page := 1; int64(page) <= pages; page++ {
		var p pageJSON[workspaceJSON]
		err := c.do(ctx, request{
			op:     OpListWorkspaces,
			target: "page=" + strconv.Itoa(page),
			path:   "/workspaces",
			query:  pageQuery(page, c.pageSize),
			handle: func(body []byte) error {
				env, err := decodeJSON[pageJSON[workspaceJSON]](body)
				if err != nil {
					return err
				}
				p = *env.Result
				return nil
			},
		})
		if err != nil {
			return nil, err
		}
		if page == 1 {
			pages = PageCount(p.info(), c.pageSize)
		}
		for _, w := range p.Content {
			if !ValidWorkspaceName(w.WorkspaceName) {
				bad = append(bad, strconv.Quote(cleanText(w.WorkspaceName)))
				continue
			}
			if seen[w.WorkspaceName] {
				continue
			}
			seen[w.WorkspaceName] = true
			out = append(out, c.workspace(w))
		}
		if len(p.Content) == 0 {
			break
		}
	}
	if len(bad) > 0 {
		return out, &Error{Op: OpListWorkspaces, Message: fmt.Sprintf("ignored %d workspace(s) with an invalid name: %v", len(bad), bad)}
	}
	return out, nil
}

// GetWorkspace reads one workspace's details, including its monthly
// analysis count.
func (c *Client) GetWorkspace(ctx context.Context, name string) (Workspace, error) {
	if err := checkWorkspace(OpGetWorkspace, name); err != nil {
		return Workspace{}, err
	}
	var w Workspace
	err := c.do(ctx, request{
		op:     OpGetWorkspace,
		target: "workspace=" + name,
		path:   "/workspaces/" + name,
		handle: func(body []byte) error {
			env, err := decodeJSON[workspaceJSON](body)
			if err != nil {
				return err
			}
			w = c.workspace(*env.Result)
			if w.Name == "" {
				w.Name = name
			}
			return nil
		},
	})
	return w, err
}

type projectJSON struct {
	ProjectID     flexInt    `json:"projectId"`
	Name          string     `json:"name"`
	IsBaseProject flexBool   `json:"isBaseProject"`
	CreatedTime   flexString `json:"createdTime"`
	UpdatedTime   flexString `json:"updatedTime"`
}

type projectsJSON struct {
	Projects   []projectJSON `json:"projects"`
	TotalCount flexInt       `json:"totalCount"`
}

// ListProjects reads the project list of a workspace (not paged). Projects
// without a positive integer ID are skipped and reported in the error,
// together with the valid ones.
func (c *Client) ListProjects(ctx context.Context, workspace string) ([]Project, error) {
	if err := checkWorkspace(OpListProjects, workspace); err != nil {
		return nil, err
	}
	var out []Project
	var skipped int
	err := c.do(ctx, request{
		op:     OpListProjects,
		target: "workspace=" + workspace,
		path:   "/workspaces/" + workspace + "/projects",
		handle: func(body []byte) error {
			env, err := decodeJSON[projectsJSON](body)
			if err != nil {
				return err
			}
			seen := make(map[int64]bool, len(env.Result.Projects))
			out = make([]Project, 0, len(env.Result.Projects))
			for _, p := range env.Result.Projects {
				if !p.ProjectID.Set || p.ProjectID.V <= 0 {
					skipped++
					continue
				}
				if seen[p.ProjectID.V] {
					continue
				}
				seen[p.ProjectID.V] = true
				out = append(out, Project{
					ID:          p.ProjectID.V,
					Name:        cleanText(p.Name),
					IsBase:      bool(p.IsBaseProject),
					CreatedTime: c.parseTime(string(p.CreatedTime)),
					UpdatedTime: c.parseTime(string(p.UpdatedTime)),
				})
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		return out, &Error{Op: OpListProjects, Target: "workspace=" + workspace, Message: fmt.Sprintf("skipped %d project(s) without a valid projectId", skipped)}
	}
	return out, nil
}

// PageCount is how many pages a list has, judged from its first page. It
// trusts totalCount (at the page size the server actually used) over
// totalPage, and caps the result at MaxPages, so a server reporting an
// absurd totalPage cannot make a caller loop. totalPage is only used when
// totalCount is missing.
func PageCount(info PageInfo, pageSize int) int64 {
	size := int64(pageSize)
	if size <= 0 {
		size = DefaultPageSize
	}
	if info.PageSize > 0 && info.PageSize < size {
		size = info.PageSize
	}
	var pages int64
	switch {
	case info.TotalCount > 0:
		pages = info.TotalCount / size // not (n+size-1)/size: that overflows
		if info.TotalCount%size != 0 {
			pages++
		}
	case info.Items == 0:
		pages = 1
	default:
		pages = info.TotalPage
	}
	return max(1, min(pages, MaxPages))
}

// AssetPage fetches one page (1-based) of a project's asset list and calls
// fn for each asset as it is decoded; the *Asset is only valid during the
// call. Nothing of the page is kept once AssetPage returns. A page that
// reports a pageNo other than the one asked for is an error: the listing
// cannot be trusted.
func (c *Client) AssetPage(ctx context.Context, workspace string, projectID int64, page int, fn func(*Asset)) (PageInfo, error) {
	if err := checkWorkspace(OpListAssets, workspace); err != nil {
		return PageInfo{}, err
	}
	target := "workspace=" + workspace + " project=" + strconv.FormatInt(projectID, 10) + " page=" + strconv.Itoa(page)
	if projectID <= 0 || page < 1 {
		return PageInfo{}, &Error{Op: OpListAssets, Target: target, Message: "project ID and page number must be positive"}
	}
	return c.assetPage(ctx, workspace, projectID, page, c.pageSize, target, fn)
}

// AssetCount reads only the totalCount of a project's asset list with one
// request of page size 1.
func (c *Client) AssetCount(ctx context.Context, workspace string, projectID int64) (int64, error) {
	if err := checkWorkspace(OpListAssets, workspace); err != nil {
		return 0, err
	}
	target := "workspace=" + workspace + " project=" + strconv.FormatInt(projectID, 10) + " count"
	if projectID <= 0 {
		return 0, &Error{Op: OpListAssets, Target: target, Message: "project ID must be positive"}
	}
	info, err := c.assetPage(ctx, workspace, projectID, 1, 1, target, func(*Asset) {})
	return info.TotalCount, err
}

func (c *Client) assetPage(ctx context.Context, workspace string, projectID int64, page, size int, target string, fn func(*Asset)) (PageInfo, error) {
	var info PageInfo
	err := c.do(ctx, request{
		op:     OpListAssets,
		target: target,
		path:   "/workspaces/" + workspace + "/projects/" + strconv.FormatInt(projectID, 10) + "/assets",
		query:  pageQuery(page, size),
		handle: func(body []byte) error {
			d := c.getDecoder()
			defer c.decoders.Put(d)
			env, err := d.Decode(body, fn)
			if err != nil {
				return err
			}
			if err := checkCode(env.Code, env.Message); err != nil {
				return err
			}
			if !env.HasResult {
				return &Error{Message: "answer has no result"}
			}
			info = env.Info
			if info.PageNo != 0 && info.PageNo != int64(page) {
				return &Error{Message: fmt.Sprintf("asked for page %d, answered with page %d", page, info.PageNo)}
			}
			return nil
		},
	})
	return info, err
}

func (c *Client) getDecoder() *assetjson.Decoder {
	if d, ok := c.decoders.Get().(*assetjson.Decoder); ok {
		return d
	}
	return &assetjson.Decoder{}
}
