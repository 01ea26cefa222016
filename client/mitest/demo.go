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

// DemoInventory returns the inventory the exporter's --demo mode shows:
// 3 workspaces, 12 projects (one base project each, one empty) and 62,700
// generated assets. The project DemoFailingProject of DemoFailingWorkspace
// fails when served by NewDemoServer.
func DemoInventory() *Inventory {
	inv := &Inventory{}
	nextID := int64(100001)
	for _, dw := range demoLayout {
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
			})
			switch {
			case dw.name == DemoStuckWorkspace && dp.id == DemoStuckProject:
				stuck := DefaultPipeline
				stuck.Stuck, stuck.ImportTime = true, 10*time.Second
				ws.Projects[len(ws.Projects)-1].Pipeline = &stuck
			case dw.name == DemoSummaryFailingWorkspace && dp.id == DemoSummaryFailingProject:
				failing := demoSummaryFailing
				ws.Projects[len(ws.Projects)-1].Pipeline = &failing
			}
			nextID += int64(dp.assets)
		}
		inv.Workspaces = append(inv.Workspaces, ws)
	}
	return inv
}

// DemoFault is the fault NewDemoServer sets on the failing demo project:
// every asset-list call answers 503 with the gateway's "Endpoint Error".
var DemoFault = Fault{Status: 503, Body: BodyGateway, ErrorCode: "500"}

// NewDemoServer starts a server with DemoInventory whose failing project
// always answers DemoFault, and into which a new asset is uploaded every
// DemoUploadEvery until it is closed.
func NewDemoServer(opts ...Option) *Server {
	s := NewServer(DemoInventory(), opts...)
	s.SetFault(Scope{Operation: client.OpListAssets, Workspace: DemoFailingWorkspace, ProjectID: DemoFailingProject}, DemoFault)
	s.bg.Go(func() {
		t := time.NewTicker(DemoUploadEvery)
		defer t.Stop()
		for n := int64(0); ; n++ {
			select {
			case <-s.done:
				return
			case <-t.C:
				s.Update(func(inv *Inventory) { demoUpload(inv, n, s.cfg.clock()) })
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
	formats := []string{"mp4", "mov", "mp4", "png", "jpg", "mkv", "webm", "heic"}
	format := formats[n%int64(len(formats))]
	meta := &Meta{Format: Ptr(format), Resolution: Ptr("1920x1080"), Size: Ptr(40_000_000 + 7_919*n%9_000_000)}
	if format == "png" || format == "jpg" || format == "heic" {
		meta.Size = Ptr(900_000 + 7_919*n%4_000_000)
	} else {
		meta.DurationMs = Ptr(60_000 + 7_919*n%1_800_000)
	}
	at := now.In(seoul).Format("2006-01-02T15:04:05")
	p.Assets = append(p.Assets, Asset{
		ID: Ptr(demoFirstUploadID + n), FileName: Ptr("upload-" + strconv.FormatInt(n, 10) + "." + format),
		Key: Ptr("uploads/" + strconv.FormatInt(n, 10) + "." + format), Meta: meta,
		CreateUserName: Ptr("uploader"), CreatedTime: Ptr(at), UpdateUserName: Ptr("uploader"), UpdatedTime: Ptr(at),
	})
}
