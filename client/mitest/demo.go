package mitest

import (
	"strconv"
	"time"

	"github.com/mediaintel/mediaintel_exporter/client"
)

// Coordinates of the demo project whose asset list always fails, of the
// one whose analysis queue is stuck, and of the one whose scene summaries
// all fail.
const (
	DemoFailingWorkspace              = "media-staging"
	DemoFailingProject          int64 = 2003
	DemoStuckWorkspace                = "media-prod"
	DemoStuckProject            int64 = 1004
	DemoSummaryFailingWorkspace       = "media-prod"
	DemoSummaryFailingProject   int64 = 1003
)

// demoSummaryFailing is the pipeline of the demo project whose scene
// summaries fail in a wave: quick, so that the failures show within a
// couple of minutes of the start.
var demoSummaryFailing = Pipeline{ImportTime: 10 * time.Second, WaitTime: 20 * time.Second, AnalysisTime: 30 * time.Second,
	SummaryWaitTime: 10 * time.Second, SummaryTime: 20 * time.Second, SummariesFail: true}

// DemoUploadEvery is how often a new asset arrives in the demo, in one
// project after the other (not the failing one): the growth panels and
// the analysis pipeline move on their own.
const DemoUploadEvery = 3 * time.Second

// demoFirstUploadID is the assetId of the first demo upload, above every
// generated demo asset.
const demoFirstUploadID = 50_000_001

type demoProject struct {
	id     int64
	name   string
	assets int
}

type demoWorkspace struct {
	name, bucket string
	monthly      int64
	projects     []demoProject
}

var demoLayout = []demoWorkspace{
	{"media-prod", "media-prod-bucket", 1840, []demoProject{
		{1001, "Base Project", 2400},
		{1002, "news-clips", 18000},
		{1003, "interviews", 6500},
		{1004, "ad-campaigns", 1200},
		{1005, "social-shorts", 9800},
	}},
	{DemoFailingWorkspace, "media-staging-bucket", 312, []demoProject{
		{2001, "Base Project", 150},
		{2002, "qa-samples", 820},
		{DemoFailingProject, "broken-uploads", 430},
		{2004, "empty-project", 0},
	}},
	{"archive-2024", "", 0, []demoProject{
		{3001, "Base Project", 4100},
		{3002, "tv-archive", 12000},
		{3003, "photo-library", 7300},
	}},
}

// DemoInventory returns the inventory the exporter's --demo mode shows
// under the default key: 3 workspaces, 12 projects (one base project each,
// one empty) and 62,700 generated assets. The project DemoFailingProject
// of DemoFailingWorkspace fails when served by NewDemoServer.
func DemoInventory() *Inventory {
	return demoInventory(demoLayout, 100001, func(ws string, id int64) *Pipeline {
		switch {
		case ws == DemoStuckWorkspace && id == DemoStuckProject:
			stuck := DefaultPipeline
			stuck.Stuck, stuck.ImportTime = true, 10*time.Second
			return &stuck
		case ws == DemoSummaryFailingWorkspace && id == DemoSummaryFailingProject:
			failing := demoSummaryFailing
			return &failing
		}
		return nil
	})
}

// demoInventory builds the inventory of a layout, the generated assets
// numbered from firstID on, each project with the pipeline pipeline
// returns for it (nil: DefaultPipeline).
func demoInventory(layout []demoWorkspace, firstID int64, pipeline func(ws string, id int64) *Pipeline) *Inventory {
	inv := &Inventory{}
	nextID := firstID
	for _, dw := range layout {
		ws := &Workspace{
			Name:                 dw.name,
			URL:                  "https://mi.ncloud.com/workspaces/" + dw.name,
			BucketName:           dw.bucket,
			MonthlyAnalysisCount: dw.monthly,
			CreatedUserName:      "admin",
			CreatedTime:          "2024-03-02T10:15:00",
			UpdatedUserName:      "admin",
			UpdatedTime:          "2025-04-23T16:49:24",
		}
		for i, dp := range dw.projects {
			ws.Projects = append(ws.Projects, &Project{
				ID:              dp.id,
				Name:            dp.name,
				IsBase:          i == 0,
				CreatedUserName: "admin",
				CreatedTime:     "2024-03-02T10:15:00",
				UpdatedUserName: "editor",
				UpdatedTime:     "2025-04-23T17:13:37",
				Synthetic:       &SyntheticAssets{Count: dp.assets, Seed: dp.id * 7919, FirstID: nextID},
				Pipeline:        pipeline(dw.name, dp.id),
			})
			nextID += int64(dp.assets)
		}
		inv.Workspaces = append(inv.Workspaces, ws)
	}
	return inv
}

// The demo's second account, "lab": its key pair, as NewDemoServer
// accepts it.
const (
	DemoLabAccessKey = "ncp_iam_SIMLABACCESSKEY001"
	DemoLabSecretKey = "ncp_iam_SIMLABSECRETKEY000000001"
)

// DemoSharedWorkspace is the workspace name both demo accounts have, each
// with projects and figures of its own.
const DemoSharedWorkspace = "media-prod"

// demoLabLayout is the lab account's inventory: small, with its own
// DemoSharedWorkspace.
var demoLabLayout = []demoWorkspace{
	{DemoSharedWorkspace, "lab-media-prod-bucket", 96, []demoProject{
		{5001, "Base Project", 320},
		{5002, "model-eval", 1450},
		{5003, "dubbing-tests", 610},
	}},
	{"research-lab", "research-lab-bucket", 41, []demoProject{
		{6001, "Base Project", 75},
		{6002, "speech-samples", 2300},
	}},
}

// demoLabPipeline moves the lab account's assets, quicker than
// DefaultPipeline so that its queues change within minutes.
var demoLabPipeline = Pipeline{ImportTime: 15 * time.Second, WaitTime: 45 * time.Second, AnalysisTime: 90 * time.Second,
	SummaryWaitTime: 30 * time.Second, SummaryTime: time.Minute}

// DemoLabInventory returns the inventory of the demo's second account
// (DemoLabAccessKey): 2 workspaces, one of them DemoSharedWorkspace, 5
// projects and 4,755 generated assets, numbered apart from
// DemoInventory's.
func DemoLabInventory() *Inventory {
	return demoInventory(demoLabLayout, 80_000_001, func(string, int64) *Pipeline {
		pl := demoLabPipeline
		return &pl
	})
}

// DemoFault is the fault NewDemoServer sets on the failing demo project:
// every asset-list call answers 503 with the gateway's "Endpoint Error".
var DemoFault = Fault{Status: 503, Body: BodyGateway, ErrorCode: "500"}

// demoLabUploadTicks is how many DemoUploadEvery periods pass between two
// uploads into the lab account.
const demoLabUploadTicks = 2

// NewDemoServer starts a server with two accounts. The default one serves
// DemoInventory, whose failing project always answers DemoFault, and
// receives a new asset every DemoUploadEvery. The second, reached with
// DemoLabAccessKey, serves DemoLabInventory and receives a new asset every
// other DemoUploadEvery. The uploads go on until the server is closed.
func NewDemoServer(opts ...Option) *Server {
	s := NewServer(DemoInventory(), append([]Option{WithAccount(DemoLabAccessKey, DemoLabSecretKey, DemoLabInventory())}, opts...)...)
	lab := s.Account(DemoLabAccessKey)
	s.SetFault(Scope{Operation: client.OpListAssets, Workspace: DemoFailingWorkspace, ProjectID: DemoFailingProject}, DemoFault)
	s.bg.Go(func() {
		t := time.NewTicker(DemoUploadEvery)
		defer t.Stop()
		for n := int64(0); ; n++ {
			select {
			case <-s.done:
				return
			case <-t.C:
				now := s.cfg.clock()
				s.Update(func(inv *Inventory) { demoUpload(inv, n, now) })
				if n%demoLabUploadTicks == demoLabUploadTicks-1 {
					lab.Update(func(inv *Inventory) { demoLabUpload(inv, n/demoLabUploadTicks, now) })
				}
			}
		}
	})
	return s
}

// demoUpload adds upload n, created at now, to the next project in turn,
// the stuck project first, so that its queue shows within a minute.
func demoUpload(inv *Inventory, n int64, now time.Time) {
	var targets []*Project
	for _, ws := range inv.Workspaces {
		for _, p := range ws.Projects {
			switch {
			case ws.Name == DemoFailingWorkspace && p.ID == DemoFailingProject:
			case ws.Name == DemoStuckWorkspace && p.ID == DemoStuckProject:
				targets = append([]*Project{p}, targets...)
			default:
				targets = append(targets, p)
			}
		}
	}
	p := targets[n%int64(len(targets))]
	p.Assets = append(p.Assets, demoAsset(demoFirstUploadID+n, n, now))
}

// demoLabFirstUploadID is the assetId of the lab account's first upload,
// above every asset of both demo accounts.
const demoLabFirstUploadID = 90_000_001

// demoLabUpload adds the lab account's upload n, created at now, to its
// next project in turn.
func demoLabUpload(inv *Inventory, n int64, now time.Time) {
	var targets []*Project
	for _, ws := range inv.Workspaces {
		targets = append(targets, ws.Projects...)
	}
	p := targets[n%int64(len(targets))]
	p.Assets = append(p.Assets, demoAsset(demoLabFirstUploadID+n, n, now))
}

// demoAsset is upload n of a demo account, with ID id, created at now:
// its format, size and duration follow from n.
func demoAsset(id, n int64, now time.Time) Asset {
	formats := []string{"mp4", "mov", "mp4", "png", "jpg", "mkv", "webm", "heic"}
	format := formats[n%int64(len(formats))]
	meta := &Meta{Format: Ptr(format), Resolution: Ptr("1920x1080"), Size: Ptr(40_000_000 + 7_919*n%9_000_000)}
	if format == "png" || format == "jpg" || format == "heic" {
		meta.Size = Ptr(900_000 + 7_919*n%4_000_000)
	} else {
		meta.DurationMs = Ptr(60_000 + 7_919*n%1_800_000)
	}
	at := now.In(seoul).Format("2006-01-02T15:04:05")
	return Asset{
		ID: Ptr(id), FileName: Ptr("upload-" + strconv.FormatInt(n, 10) + "." + format),
		Key: Ptr("uploads/" + strconv.FormatInt(n, 10) + "." + format), Meta: meta,
		CreateUserName: Ptr("uploader"), CreatedTime: Ptr(at), UpdateUserName: Ptr("uploader"), UpdatedTime: Ptr(at),
	}
}
