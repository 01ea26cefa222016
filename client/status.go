package client

import (
	"context"
	"strconv"
)

// ImportStatus is an asset's upload (import) status.
type ImportStatus struct {
	// Status is result.uploadStatus as sent: IN_PROGRESS, COMPLETED,
	// FAILED, FILE_NOT_EXIST or INVALID_METADATA ("" when absent).
	Status string
	// Message is result.uploadResult, the message for the status.
	Message string
}

// AnalysisStatus is the status of an asset's latest analysis (indexing).
type AnalysisStatus struct {
	// Status is result.status as sent: BEFORE_ANALYZE, WAIT_ANALYZE,
	// ANALYZING, ANALYZE_COMPLETED, ANALYZE_FAIL or ANALYZE_CANCEL ("" when
	// absent).
	Status string
	// Message is result.analyzeStatusMessage (or analysisStatusMessage,
	// as the docs' example spells it): the reason when it failed.
	Message string
	// IndexID is result.indexId, set once an analysis succeeded.
	IndexID    int64
	HasIndexID bool
}

type importStatusJSON struct {
	UploadStatus string `json:"uploadStatus"`
	UploadResult string `json:"uploadResult"`
}

type analysisStatusJSON struct {
	Status   string  `json:"status"`
	Message  string  `json:"analyzeStatusMessage"`
	Message2 string  `json:"analysisStatusMessage"`
	IndexID  flexInt `json:"indexId"`
}

func (c *Client) assetCall(ctx context.Context, op Operation, workspace string, projectID, assetID int64, suffix string, handle func([]byte) error) error {
	if err := checkWorkspace(op, workspace); err != nil {
		return err
	}
	pid, aid := strconv.FormatInt(projectID, 10), strconv.FormatInt(assetID, 10)
	target := "workspace=" + workspace + " project=" + pid + " asset=" + aid
	if projectID <= 0 || assetID <= 0 {
		return &Error{Op: op, Target: target, Message: "project and asset IDs must be positive"}
	}
	return c.do(ctx, request{
		op:     op,
		target: target,
		path:   "/workspaces/" + workspace + "/projects/" + pid + "/assets/" + aid + suffix,
		handle: handle,
	})
}

// SceneSummaryStatus is the status of an asset's scene summary (the VLM
// summary of an indexed asset; docs/api.md, "Scene-summary status").
type SceneSummaryStatus struct {
	// Status is result.status as sent: BEFORE_SUMMARIZE, WAIT_SUMMARIZE,
	// SUMMARIZING, SUMMARIZE_COMPLETED, SUMMARIZE_FAIL or
	// SUMMARIZE_CANCELED ("" when absent).
	Status string
}

type sceneSummaryStatusJSON struct {
	Status string `json:"status"`
}

// ImportStatus reads an asset's upload status (one request). A 404 means
// the asset does not exist (any more).
func (c *Client) ImportStatus(ctx context.Context, workspace string, projectID, assetID int64) (ImportStatus, error) {
	var st ImportStatus
	err := c.assetCall(ctx, OpImportStatus, workspace, projectID, assetID, "/import-status", func(body []byte) (err error) {
		st, err = decodeImportStatus(body)
		return err
	})
	return st, err
}

// AnalysisStatus reads the status of an asset's latest analysis (one
// request). A 404 means the asset does not exist (any more).
func (c *Client) AnalysisStatus(ctx context.Context, workspace string, projectID, assetID int64) (AnalysisStatus, error) {
	var st AnalysisStatus
	err := c.assetCall(ctx, OpAnalysisStatus, workspace, projectID, assetID, "/index/status", func(body []byte) (err error) {
		st, err = decodeAnalysisStatus(body)
		return err
	})
	return st, err
}

// SceneSummaryStatus reads the status of an asset's scene summary (one
// request). A 404 means no summary (docs/api.md), not a deleted asset:
// the caller tells the two apart.
func (c *Client) SceneSummaryStatus(ctx context.Context, workspace string, projectID, assetID int64) (SceneSummaryStatus, error) {
	var st SceneSummaryStatus
	err := c.assetCall(ctx, OpSceneSummaryStatus, workspace, projectID, assetID, "/scene-summary/status", func(body []byte) (err error) {
		st, err = decodeSceneSummaryStatus(body)
		return err
	})
	return st, err
}

func decodeImportStatus(body []byte) (ImportStatus, error) {
	env, err := decodeJSON[importStatusJSON](body)
	if err != nil {
		return ImportStatus{}, err
	}
	return ImportStatus{Status: env.Result.UploadStatus, Message: cleanText(env.Result.UploadResult)}, nil
}

func decodeAnalysisStatus(body []byte) (AnalysisStatus, error) {
	env, err := decodeJSON[analysisStatusJSON](body)
	if err != nil {
		return AnalysisStatus{}, err
	}
	r := env.Result
	msg := r.Message
	if msg == "" {
		msg = r.Message2
	}
	return AnalysisStatus{Status: r.Status, Message: cleanText(msg), IndexID: r.IndexID.V, HasIndexID: r.IndexID.Set}, nil
}

func decodeSceneSummaryStatus(body []byte) (SceneSummaryStatus, error) {
	env, err := decodeJSON[sceneSummaryStatusJSON](body)
	if err != nil {
		return SceneSummaryStatus{}, err
	}
	return SceneSummaryStatus{Status: env.Result.Status}, nil
}
