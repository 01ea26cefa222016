package client

import (
	"encoding/json"
	"testing"
)

// FuzzStatusBodies: the three status decoders take any body without a
// panic, and when encoding/json reads the body as a success envelope with
// a string status, they return that status.
func FuzzStatusBodies(f *testing.F) {
	for _, s := range []string{
		`{"code":"0","message":"success","result":{"uploadStatus":"COMPLETED","uploadResult":"ok"}}`,
		`{"code":0,"result":{"status":"ANALYZE_FAIL","analysisStatusMessage":"영상 파싱 실패","indexId":"12"}}`,
		`{"code":"0","result":{"status":"SUMMARIZING","extra":[1,{"a":null}]}}`,
		`{"code":"0","result":null}`, `{"code":"10404","message":"x"}`, `{"code":"0","result":{"status":`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		imp, errI := decodeImportStatus(body)
		ana, errA := decodeAnalysisStatus(body)
		sum, errS := decodeSceneSummaryStatus(body)
		var ref struct {
			Code   json.RawMessage `json:"code"`
			Result *struct {
				Upload string `json:"uploadStatus"`
				Status string `json:"status"`
			} `json:"result"`
		}
		if json.Unmarshal(body, &ref) != nil || ref.Result == nil {
			return
		}
		if c := string(ref.Code); c != `"0"` && c != `0` && c != `""` && c != `` && c != `null` {
			if errI == nil || errA == nil || errS == nil {
				t.Fatalf("code %s decoded without an error", c)
			}
			return
		}
		if errI == nil && imp.Status != ref.Result.Upload {
			t.Fatalf("import status %q, encoding/json reads %q", imp.Status, ref.Result.Upload)
		}
		if errA == nil && ana.Status != ref.Result.Status {
			t.Fatalf("analysis status %q, encoding/json reads %q", ana.Status, ref.Result.Status)
		}
		if errS == nil && sum.Status != ref.Result.Status {
			t.Fatalf("scene summary status %q, encoding/json reads %q", sum.Status, ref.Result.Status)
		}
	})
}
