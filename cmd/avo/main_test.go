package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/demo"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// avo runs the command line in-process and returns its exit code and output.
func avo(ctx context.Context, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCommandsAgainstRealServers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Chdir(t.TempDir())
	ts := testenv.Temporal(t)
	cfg := testenv.Config(t)
	provider, err := demo.Serve(0)
	if err != nil {
		t.Fatal(err)
	}
	defer provider.Close()
	partner := cfg.S3
	partner.Bucket = cfg.S3.Bucket + "-partner"
	store, err := s3store.New(ctx, partner)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.SeedBucket(ctx, store); err != nil {
		t.Fatal(err)
	}
	srcFile := filepath.Join(t.TempDir(), "sources.yaml")
	yaml := strings.ReplaceAll(string(demo.SourcesYAML()), "${"+demo.OAIURLVariable+"}", provider.URL)
	yaml = strings.ReplaceAll(yaml, "bucket: "+demo.PartnerBucket, "bucket: "+partner.Bucket)
	// A slow provider, for following and re-attaching.
	slow := oaitest.New(t, oaitest.Records(6), oaitest.Faults{PageSize: 2, Slow: []int{1, 2, 3}, SlowDelay: 700 * time.Millisecond})
	yaml += "\n  - id: slowsrc\n    kind: oai-pmh\n    mapping: oai_dc\n    oai:\n      url: " + slow.URL + "\n      metadata_prefix: oai_dc\n"
	// A source that names its sets (the provider has onderwijs and techniek).
	yaml += "\n  - id: withsets\n    kind: oai-pmh\n    mapping: oai_dc\n    oai:\n      url: " + provider.URL + "\n      metadata_prefix: oai_dc\n      sets: [onderwijs]\n"
	// A source whose provider refuses its format.
	yaml += "\n  - id: refusing\n    kind: oai-pmh\n    mapping: lido\n    oai:\n      url: " + provider.URL + "\n      metadata_prefix: lido\n"
	if err := os.WriteFile(srcFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{
		"--temporal-address", ts.GetFrontendHostPort(), "--temporal-namespace", ts.GetDefaultNamespace(),
		"--task-queue", testenv.Name(t), "--s3-endpoint", cfg.S3.Endpoint, "--s3-bucket", cfg.S3.Bucket,
		"--es-url", cfg.Elasticsearch.URLs[0], "--es-index-prefix", cfg.Elasticsearch.IndexPrefix,
		"--sources", srcFile, "--log-level", "error", "--worker-listen", "127.0.0.1:0",
	}
	with := func(args ...string) []string { return append(args, common...) }

	if code, _, errOut := avo(ctx, with("setup")...); code != exitOK {
		t.Fatalf("setup: exit %d: %s", code, errOut)
	}

	// A worker, as an operator runs it, until the test ends.
	wctx, stopWorker := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if code, _, errOut := avo(wctx, with("worker")...); code != exitOK && wctx.Err() == nil {
			t.Errorf("worker: exit %d: %s", code, errOut)
		}
	}()
	defer func() { stopWorker(); wg.Wait() }()

	code, out, errOut := avo(ctx, with("harvest", "start", "demo-oai", "--wait", "-o", "json")...)
	if code != exitOK {
		t.Fatalf("harvest start: exit %d\n%s\n%s", code, out, errOut)
	}
	checkShape(t, "harvest-start-wait", out)
	var outcomes []harvestOutcome
	if err := json.Unmarshal([]byte(out), &outcomes); err != nil {
		t.Fatalf("harvest start -o json: %v\n%s", err, out)
	}
	if len(outcomes) != 1 || outcomes[0].Counts.Records != 12 || outcomes[0].Counts.Indexed != 10 || outcomes[0].Counts.Quarantined != 1 || outcomes[0].Error != "" {
		t.Errorf("outcome %+v", outcomes)
	}
	if code, out, _ := avo(ctx, with("harvest", "start", "demo-s3", "--wait")...); code != exitOK || !strings.Contains(out, "demo-s3") {
		t.Errorf("harvest start demo-s3 (text): exit %d\n%s", code, out)
	}

	code, out, _ = avo(ctx, with("search", "fietsen", "-o", "json")...)
	checkShape(t, "search", out)
	var res search.Response
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || res.Total != 3 {
		t.Errorf("search: exit %d %+v\n%s", code, res, out)
	}

	code, out, _ = avo(ctx, with("harvest", "status", "demo-oai", "-o", "json")...)
	checkShape(t, "harvest-status", out)
	var st workflows.HarvestState
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil || st.Status != "completed" || st.Report == nil || st.Report.Counts.Indexed != 10 {
		t.Errorf("status: exit %d %+v\n%s", code, st, out)
	}
	if code, out, _ := avo(ctx, with("harvest", "status", "demo-oai")...); code != exitOK || !strings.Contains(out, "10 indexed") || !strings.Contains(out, "invalid: missing-title: 1") {
		t.Errorf("status (text): exit %d\n%s", code, out)
	}
	// Any run's report, by the id the list gives.
	code, out, _ = avo(ctx, with("harvest", "report", "demo-oai", st.Report.HarvestID, "-o", "json")...)
	checkShape(t, "harvest-report", out)
	var rep bucket.Report
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.HarvestID != st.Report.HarvestID || rep.Counts.Indexed != 10 {
		t.Errorf("harvest report: exit %d\n%s", code, out)
	}
	if code, _, _ := avo(ctx, with("harvest", "report", "demo-oai", "19990101T000000.000Z")...); code != exitNotFound {
		t.Errorf("harvest report of an unknown run: exit %d", code)
	}

	// Temporal's list of workflows follows a run's end a moment later.
	var rows []workflows.HarvestListing
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		code, out, _ = avo(ctx, with("harvest", "list", "-o", "json")...)
		rows = nil
		_ = json.Unmarshal([]byte(out), &rows)
		if len(rows) == 2 && rows[0].Status != "running" && rows[1].Status != "running" || time.Now().After(deadline) {
			break
		}
	}
	checkShape(t, "harvest-list", out)
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 || rows[0].Counts == nil || rows[0].HarvestID == "" ||
		rows[0].Status != "completed" || rows[0].Outcome != "completed" {
		t.Errorf("list: exit %d %+v\n%s", code, rows, out)
	}
	if code, out, _ := avo(ctx, with("harvest", "list")...); code != exitOK || !strings.Contains(out, "RECORDS") || !strings.Contains(out, " 12 ") {
		t.Errorf("list (text): exit %d\n%s", code, out)
	}

	code, out, _ = avo(ctx, with("harvest", "replay", "demo-oai", "--wait", "-o", "json")...)
	checkShape(t, "harvest-replay", out)
	var replayed workflows.RemapResult
	if code != exitOK || json.Unmarshal([]byte(out), &replayed) != nil || replayed.Counts.Records != 10 || replayed.Unreplayable != 0 {
		t.Errorf("harvest replay: exit %d %+v\n%s", code, replayed, out)
	}

	code, out, _ = avo(ctx, with("quarantine", "list", "-o", "json")...)
	checkShape(t, "quarantine-list", out)
	var quarantined []bucket.QuarantinedRecord
	if code != exitOK || json.Unmarshal([]byte(out), &quarantined) != nil || len(quarantined) != 2 {
		t.Errorf("quarantine list: exit %d %+v\n%s", code, quarantined, out)
	}
	if code, out, _ := avo(ctx, with("quarantine", "list", "--kind", "missing-title")...); code != exitOK || !strings.Contains(out, "dm12leeg01") || strings.Contains(out, "dm26kapot01") {
		t.Errorf("quarantine list --kind missing-title: exit %d\n%s", code, out)
	}
	if len(quarantined) > 0 {
		if code, out, _ := avo(ctx, with("quarantine", "show", quarantined[0].Key, "-o", "json")...); code == exitOK {
			checkShape(t, "quarantine-show", out)
		}
		code, out, _ := avo(ctx, with("quarantine", "show", quarantined[0].Key)...)
		if code != exitOK || !strings.Contains(out, "errors:") || !strings.Contains(out, "raw record:") {
			t.Errorf("quarantine show: exit %d\n%s", code, out)
		}
	}
	if code, out, errOut := avo(ctx, with("sources", "validate", "demo-oai", "demo-s3")...); code != exitOK || !strings.Contains(out, "demo-oai: ok") || !strings.Contains(out, "demo-s3: ok") {
		t.Errorf("sources validate: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, out, _ := avo(ctx, with("sources", "validate", "refusing")...); code != exitFailure || !strings.Contains(out, "format lido is not offered") {
		t.Errorf("sources validate of a refusing provider: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("schedule", "create", "demo-oai", "--every", "6h")...); code != exitOK || !strings.Contains(out, "6h0m0s") {
		t.Errorf("schedule create: exit %d\n%s", code, out)
	}
	code, out, _ = avo(ctx, with("schedule", "list", "-o", "json")...)
	checkShape(t, "schedule-list", out)
	var schedules []workflows.ScheduleInfo
	if code != exitOK || json.Unmarshal([]byte(out), &schedules) != nil || len(schedules) != 1 || schedules[0].Source != "demo-oai" {
		t.Errorf("schedule list: exit %d %+v", code, schedules)
	}
	if code, out, _ := avo(ctx, with("schedule", "create", "demo-oai", "--every", "6h", "-o", "json")...); code != exitOK {
		t.Errorf("schedule create -o json: exit %d", code)
	} else {
		checkShape(t, "schedule-create", out)
	}
	if code, _, _ := avo(ctx, with("schedule", "delete", "demo-oai")...); code != exitOK {
		t.Errorf("schedule delete: exit %d", code)
	}
	// A full harvest again: nothing changes, nothing is duplicated.
	code, out, _ = avo(ctx, with("harvest", "start", "demo-oai", "--full", "--wait", "-o", "json")...)
	if code != exitOK || json.Unmarshal([]byte(out), &outcomes) != nil || outcomes[0].Counts.Records != 12 {
		t.Errorf("full harvest: exit %d %+v", code, outcomes)
	}

	// Editors publish; the education index and its search follow.
	code, out, _ = avo(ctx, with("publish", "dm01fiets01", "-o", "json")...)
	checkShape(t, "publish", out)
	var item editorial.ItemState
	if code != exitOK || json.Unmarshal([]byte(out), &item) != nil || !item.Visible {
		t.Errorf("publish: exit %d %s", code, out)
	}
	code, out, _ = avo(ctx, with("search", "--index", "education", "--type", "video", "--facets", "fietsen")...)
	if code != exitOK || !strings.Contains(out, "1 results") || !strings.Contains(out, "dm01fiets01") || !strings.Contains(out, "type: video (1)") {
		t.Errorf("search the education index: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("depublish", "dm01fiets01", "--reason", "test")...); code != exitOK || !strings.Contains(out, "not visible to teachers: not published") {
		t.Errorf("depublish: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("depublish", "dm01fiets01", "--reason", "test", "-o", "json")...); code != exitOK {
		t.Errorf("depublish -o json: exit %d", code)
	} else {
		checkShape(t, "depublish", out)
	}
	code, out, _ = avo(ctx, with("history", "dm01fiets01", "-o", "json")...)
	checkShape(t, "history", out)
	var decisions []audit.Entry
	if code != exitOK || json.Unmarshal([]byte(out), &decisions) != nil || len(decisions) != 2 || decisions[0].Action != "publish" || decisions[1].Action != "depublish" {
		t.Errorf("history of an item: exit %d\n%s", code, out)
	}

	// Curated sets: made, reviewed and approved; a change on a version
	// that is gone is refused with exit code 4; the log has every step.
	code, out, _ = avo(ctx, with("sets", "create", "--id", "set-cli", "--title", "Fietsen", "--item", "dm01fiets01@5-20", "--item", "dm09fiets02", "-o", "json")...)
	checkShape(t, "sets-create", out)
	var created struct {
		Set     curation.Set `json:"set"`
		Version string       `json:"version"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &created) != nil || len(created.Set.Items) != 2 || *created.Set.Items[0].End != 20 {
		t.Errorf("sets create: exit %d\n%s", code, out)
	}
	if code, _, errOut := avo(ctx, with("sets", "create", "--title", "x", "--item", "nosuchitem")...); code != exitUsage || !strings.Contains(errOut, "item nosuchitem is not in the catalog") {
		t.Errorf("sets create with an unknown item: exit %d\n%s", code, errOut)
	}
	for _, step := range [][]string{{"review", "set-cli"}, {"approve", "set-cli", "--comment", "goed"}} {
		if code, out, _ := avo(ctx, with(append([]string{"sets"}, step...)...)...); code != exitOK {
			t.Errorf("sets %s: exit %d\n%s", step[0], code, out)
		}
	}
	if code, _, errOut := avo(ctx, with("sets", "edit", "set-cli", "--title", "Oud", "--if-match", created.Version)...); code != exitConflict || !strings.Contains(errOut, "set set-cli was changed by") {
		t.Errorf("sets edit on an old version: exit %d\n%s", code, errOut)
	}
	code, out, _ = avo(ctx, with("sets", "history", "set-cli", "-o", "json")...)
	checkShape(t, "sets-history", out)
	var log []audit.Entry
	if code != exitOK || json.Unmarshal([]byte(out), &log) != nil || len(log) != 3 || log[2].Action != "approve" || log[2].Comment != "goed" {
		t.Errorf("sets history: exit %d\n%s", code, out)
	}
	code, out, _ = avo(ctx, with("sets", "list", "-o", "json")...)
	checkShape(t, "sets-list", out)
	if code != exitOK || !strings.Contains(out, `"status": "approved"`) {
		t.Errorf("sets list: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("sets", "list", "--problems", "-o", "json")...); code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("sets list --problems: exit %d\n%s", code, out)
	}

	// Teachers' content, as operators see and repair it.
	pieceFile := filepath.Join(t.TempDir(), "piece.json")
	if err := os.WriteFile(pieceFile, []byte(`{"kind":"collectie","title":"Verkeer","blocks":[{"type":"text","text":"Kijk links en rechts."}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = avo(ctx, with("content", "create", "--owner", "u1", "--owner-name", "Leen Leerkracht", "--owner-email", "leen@school.example", "--file", pieceFile, "-o", "json")...)
	checkShape(t, "content-create", out)
	var piece struct {
		Piece   content.Piece `json:"piece"`
		Version string        `json:"version"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &piece) != nil || piece.Piece.Owner.ID != "u1" || piece.Piece.Public {
		t.Fatalf("content create: exit %d\n%s", code, out)
	}
	pid := piece.Piece.ID
	if code, out, _ := avo(ctx, with("content", "share", pid, "cas@school.example", "contributor", "-o", "json")...); code != exitOK || !strings.Contains(out, `"status": "invited"`) {
		t.Errorf("content share: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("content", "edit", pid, "--public", "-o", "json")...); code != exitOK || !strings.Contains(out, `"is_public": true`) {
		t.Errorf("content edit --public: exit %d\n%s", code, out)
	}
	if code, _, errOut := avo(ctx, with("content", "edit", pid, "--private", "--if-match", piece.Version)...); code != exitConflict || !strings.Contains(errOut, "collectie "+pid+" was changed by") {
		t.Errorf("content edit on an old version: exit %d\n%s", code, errOut)
	}
	code, out, _ = avo(ctx, with("content", "list", "--public", "-o", "json")...)
	checkShape(t, "content-list", out)
	if code != exitOK || !strings.Contains(out, pid) {
		t.Errorf("content list --public: exit %d\n%s", code, out)
	}
	code, out, _ = avo(ctx, with("content", "show", pid, "-o", "json")...)
	checkShape(t, "content-show", out)
	if code != exitOK || !strings.Contains(out, `"right": "OWNER"`) {
		t.Errorf("content show: exit %d\n%s", code, out)
	}
	code, out, _ = avo(ctx, with("content", "history", pid, "-o", "json")...)
	if code != exitOK || json.Unmarshal([]byte(out), &log) != nil || len(log) != 3 || log[1].Action != "share" || !strings.HasPrefix(log[2].By, "operator ") {
		t.Errorf("content history: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("content", "sync", "-o", "json")...); code != exitOK || strings.TrimSpace(out) != "{\n  \"synced\": 1\n}" {
		t.Errorf("content sync: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("content", "delete", pid)...); code != exitOK {
		t.Errorf("content delete: exit %d\n%s", code, out)
	}
	if code, _, errOut := avo(ctx, with("content", "show", pid)...); code != exitNotFound {
		t.Errorf("content show after delete: exit %d\n%s", code, errOut)
	}

	// Rebuild, status, rollback.
	code, out, _ = avo(ctx, with("index", "rebuild", "catalog", "-o", "json")...)
	checkShape(t, "index-rebuild", out)
	var rebuilt struct {
		Index    string   `json:"index"`
		Docs     int      `json:"docs"`
		Previous []string `json:"previous"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &rebuilt) != nil || rebuilt.Docs != 15 || len(rebuilt.Previous) != 1 {
		t.Errorf("index rebuild: exit %d\n%s", code, out)
	}
	code, out, _ = avo(ctx, with("index", "status", "-o", "json")...)
	checkShape(t, "index-status", out)
	var states []indexState
	if code != exitOK || json.Unmarshal([]byte(out), &states) != nil || len(states) != 2 || states[0].Current != rebuilt.Index || states[0].Docs != 15 {
		t.Errorf("index status: exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("index", "status")...); code != exitOK || !strings.Contains(out, "current") || !strings.Contains(out, "previous") || !strings.Contains(out, "last rebuild: completed") {
		t.Errorf("index status (text): exit %d\n%s", code, out)
	}
	if code, out, _ := avo(ctx, with("index", "rollback", "catalog", "-o", "json")...); code != exitOK || !strings.Contains(out, rebuilt.Previous[0]) {
		t.Errorf("index rollback: exit %d\n%s", code, out)
	} else {
		checkShape(t, "index-rollback", out)
	}
	// Every list command answers [] when there is nothing.
	for name, args := range map[string][]string{
		"harvest list":    {"harvest", "list", "--source", "no-such-source", "-o", "json"},
		"quarantine list": {"quarantine", "list", "--source", "no-such-source", "-o", "json"},
		"content list":    {"content", "list", "--owner", "nobody", "-o", "json"},
	} {
		if code, out, _ := avo(ctx, with(args...)...); code != exitOK || strings.TrimSpace(out) != "[]" {
			t.Errorf("%s with nothing to list: exit %d, %q; want []", name, code, out)
		}
	}
	for name, args := range map[string][]string{
		"sources-list":     {"sources", "list", "-o", "json"},
		"sources-validate": {"sources", "validate", "demo-oai", "-o", "json"},
		"config-show":      {"config", "show", "-o", "json"},
	} {
		code, out, _ := avo(ctx, with(args...)...)
		if code != exitOK {
			t.Errorf("%s: exit %d", name, code)
		}
		checkShape(t, name, out)
	}

	// Exit codes operators script against.
	for _, c := range []struct {
		args []string
		code int
	}{
		{with("harvest", "start", "no-such-source"), exitNotFound},
		{with("schedule", "delete", "demo-oai"), exitNotFound},
		{with("quarantine", "show", "no/such/key.json"), exitNotFound},
		{with("schedule", "create", "demo-oai"), exitUsage},
		{with("harvest", "status", "never-harvested"), exitNotFound},
		{with("harvest", "start"), exitUsage},
		{with("search", "x", "--size", "1000"), exitUsage},
		{with("search", "x", "--output", "yaml"), exitUsage},
		{with("search", "x", "--sort", "popularity"), exitUsage},
		{with("search", "--scope", "pupil", "--level", "x"), exitUsage},
		{with("index", "rebuild", "everything"), exitUsage},
		{with("publish", "no-such-item"), exitNotFound},
		{with("depublish", "dm01fiets01"), exitUsage},
		{with("publish", "dm01fiets01", "--at", "tomorrow"), exitUsage},
		{with("harvest", "start", "demo-oai", "--no-such-flag"), exitUsage},
		// Input is checked before anything starts.
		{with("harvest", "start", "demo-oai", "--from", "yesterday"), exitUsage},
		{with("harvest", "start", "demo-oai", "--from", "2026-02-01", "--until", "2026-01-01"), exitUsage},
		{with("harvest", "start", "demo-oai", "--allow-mass-delete"), exitUsage},
		{with("harvest", "start", "demo-oai", "--full", "--from", "2026-01-01"), exitUsage},
		{with("harvest", "start", "withsets", "--set", "no-such-set"), exitUsage},
		{with("schedule", "create", "demo-oai", "--every", "0s"), exitUsage},
		{with("schedule", "create", "demo-oai", "--every", "-1h"), exitUsage},
		{with("schedule", "create", "demo-oai", "--every", "30s"), exitUsage},
		{with("publish", "dm01fiets01", "--at", "2026-03-01", "--until", "2026-02-01"), exitUsage},
		// Unknown commands exit 1, as gh's do.
		{[]string{"no-such-command"}, exitFailure},
		{with("harvest", "strat", "demo-oai"), exitFailure},
		{with("harvest", "cancel", "demo-oai"), exitNotFound},
	} {
		code, out, errOut := avo(ctx, c.args...)
		if code != c.code {
			t.Errorf("avo %s: exit %d, want %d (%s)", strings.Join(c.args[:3], " "), code, c.code, errOut)
		}
		if code != exitOK && (strings.Count(strings.TrimSpace(errOut), "\n") != 0 || !strings.HasPrefix(errOut, "avo: ")) {
			t.Errorf("avo %s: the error is not one line:\n%s%s", strings.Join(c.args[:3], " "), errOut, out)
		}
	}

	// A worker refuses to start without its bucket or indices, naming them.
	code, _, errOut = avo(ctx, append(with("worker"), "--s3-bucket", "avo-no-such-bucket", "--es-index-prefix", "avo-no-such-prefix")...)
	if code != exitFailure || !strings.Contains(errOut, "S3 bucket avo-no-such-bucket") || !strings.Contains(errOut, "Elasticsearch alias avo-no-such-prefix-catalog") {
		t.Errorf("worker without bucket and indices: exit %d: %s", code, errOut)
	}

	// The messages of refused input, word for word.
	for args, want := range map[string]string{
		"harvest start demo-oai --from yesterday":                     "avo: --from: \"yesterday\" is not a date (2006-01-02) or date-time (2006-01-02T15:04:05Z)\n",
		"harvest start demo-oai --from 2026-02-01 --until 2026-01-01": "avo: --from 2026-02-01 is after --until 2026-01-01: the window would be empty\n",
		"harvest start demo-oai --allow-mass-delete":                  "avo: --allow-mass-delete only means something with --full (a complete harvest is what may delete)\n",
		"harvest start withsets --set no-such-set":                    "avo: --set no-such-set: " + provider.URL + " has no such set (it has onderwijs, techniek)\n",
		"schedule create demo-oai --every 0s":                         "avo: --every 0s: a harvest schedule runs at most every minute\n",
		"schedule create demo-oai --every 30s":                        "avo: --every 30s: a harvest schedule runs at most every minute\n",
		"publish dm01fiets01 --at tomorrow":                           "avo: --at tomorrow: want a date (2026-09-01) or an RFC 3339 date-time\n",
		"harvest strat demo-oai":                                      "avo: unknown command \"strat\" for \"avo harvest\"; see 'avo harvest --help'\n",
	} {
		if _, _, errOut := avo(ctx, with(strings.Fields(args)...)...); errOut != want {
			t.Errorf("avo %s:\n got %q\nwant %q", args, errOut, want)
		}
	}

	// Not-found messages name what was not found.
	for args, want := range map[string]string{
		"publish no-such-item":              "avo: no item no-such-item in the catalog\n",
		"harvest status never-harvested":    "avo: never-harvested has never been harvested (workflow harvest:never-harvested/*)\n",
		"harvest start no-such-source":      "avo: no source \"no-such-source\" in the sources file (have: demo-oai, demo-s3, refusing, slowsrc, withsets)\n",
		"quarantine show no/such/key.json":  "avo: no quarantined record quarantine/no/such/key.json\n",
		"schedule delete no-schedule-there": "avo: no schedule for no-schedule-there\n",
	} {
		if code, _, errOut := avo(ctx, with(strings.Fields(args)...)...); code != exitNotFound || errOut != want {
			t.Errorf("avo %s: exit %d, %q; want %q", args, code, errOut, want)
		}
	}

	// Following, stopping following, re-attaching.
	code, out, errOut = avo(ctx, with("harvest", "start", "slowsrc", "-o", "json")...)
	if code != exitOK {
		t.Fatalf("harvest start slowsrc: exit %d: %s", code, errOut)
	}
	checkShape(t, "harvest-start", out)
	ictx, interrupt := context.WithTimeout(ctx, 400*time.Millisecond)
	code, _, errOut = avo(ictx, with("harvest", "watch", "slowsrc")...)
	interrupt()
	if code != exitInterrupted || errOut != "stopped following; the harvest goes on (avo harvest watch slowsrc)\n" {
		t.Errorf("watch, interrupted: exit %d, stderr %q", code, errOut)
	}
	code, out, errOut = avo(ctx, with("harvest", "watch", "slowsrc", "-o", "json")...)
	if code != exitOK || json.Unmarshal([]byte(out), &outcomes) != nil || len(outcomes) != 1 || outcomes[0].Counts.Records != 6 || outcomes[0].Status != "completed" {
		t.Errorf("watch to the end: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := avo(ctx, with("harvest", "watch", "slowsrc")...); code != exitNotFound || !strings.Contains(errOut, "no harvest of slowsrc is running") {
		t.Errorf("watch with nothing running: exit %d: %s", code, errOut)
	}

	// A harvest the provider refuses: one line with what failed, where,
	// why and how often it was tried; the whole chain with --verbose.
	code, out, errOut = avo(ctx, with("harvest", "start", "refusing", "--wait")...)
	want := "avo: harvest of refusing failed: source refusing page 1: OAI-PMH error cannotDisseminateFormat"
	if code != exitFailure || !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, "(1 attempt)") || strings.Count(errOut, "\n") != 1 || len(errOut) > 300 {
		t.Errorf("refused harvest: exit %d, stderr\n%s\nwant one line beginning %q", code, errOut, want)
	}
	if !strings.Contains(out, "FAILED: source refusing page 1") || strings.Contains(out, "activity error") {
		t.Errorf("refused harvest table:\n%s", out)
	}
	if code, out, _ := avo(ctx, with("harvest", "status", "refusing")...); code != exitOK || !strings.Contains(out, "error:     source refusing page 1: OAI-PMH error cannotDisseminateFormat") || strings.Contains(out, "activity error") {
		t.Errorf("status of the refused harvest:\n%s", out)
	}
	if code, _, errOut := avo(ctx, with("harvest", "start", "refusing", "--wait", "--verbose")...); code != exitFailure || !strings.Contains(errOut, "activity error") {
		t.Errorf("--verbose: exit %d\n%s", code, errOut)
	}
}

func TestConfigShowMasksSecrets(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("AVO_ELASTICSEARCH_PASSWORD", "hunter2")
	code, out, _ := avo(context.Background(), "config", "show", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(out, "hunter2") || !strings.Contains(out, "********") {
		t.Errorf("secret shown or not masked:\n%s", out)
	}
}
