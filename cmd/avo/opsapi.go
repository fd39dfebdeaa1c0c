package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// opsHandler answers the operator API (api.OperatorRoutes) with the same
// calls as the CLI, and the CLI's exit codes as HTTP statuses: usage 400,
// not found 404, already running 409, failure 502. avo serve checks the
// operator role before a request gets here.
func (a *app) opsHandler(c *clients) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/ops/harvests", func(w http.ResponseWriter, r *http.Request) {
		limit := 20
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				opsReply(w, nil, usagef("limit %q: want 1 to 1000", v))
				return
			}
			limit = n
		}
		rows, err := c.ListHarvests(r.Context(), r.URL.Query().Get("source"), limit)
		if rows == nil {
			rows = []workflows.HarvestListing{}
		}
		opsReply(w, rows, err)
	})
	mux.HandleFunc("GET /api/ops/harvests/{source}", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.HarvestStatus(r.Context(), r.PathValue("source"), r.URL.Query().Get("set"))
		opsReply(w, st, err)
	})
	mux.HandleFunc("POST /api/ops/harvests/{source}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		o := harvestStartOptions{set: q.Get("set"), from: q.Get("from"), until: q.Get("until"), full: q.Get("full") == "true"}
		src, err := a.loadSource(r.PathValue("source"))
		if err == nil {
			err = o.check(r.Context(), src)
		}
		if err != nil {
			opsReply(w, nil, err)
			return
		}
		run, err := c.StartHarvest(r.Context(), src, workflows.HarvestOptions{Set: o.set, From: o.from, Until: o.until, Full: o.full})
		if err != nil {
			opsReply(w, nil, err)
			return
		}
		writeOps(w, http.StatusAccepted, map[string]any{"source": src.ID, "sets": run.Sets, "workflow_id": run.GetID(), "run_id": run.GetRunID()})
	})
	mux.HandleFunc("POST /api/ops/harvests/{source}/cancel", func(w http.ResponseWriter, r *http.Request) {
		id, err := c.CancelHarvest(r.Context(), r.PathValue("source"), r.URL.Query().Get("set"))
		opsReply(w, map[string]string{"workflow_id": id, "requested": "cancel"}, err)
	})
	mux.HandleFunc("GET /api/ops/quarantine", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		rows, err := bucket.ListQuarantine(ctx, c.Store, bucket.QuarantineFilter{Source: r.URL.Query().Get("source")})
		if rows == nil {
			rows = []bucket.QuarantinedRecord{}
		}
		opsReply(w, rows, err)
	})
	mux.HandleFunc("GET /api/ops/quarantine/{key...}", func(w http.ResponseWriter, r *http.Request) {
		q, err := bucket.ReadQuarantine(r.Context(), c.Store, r.PathValue("key"))
		opsReply(w, q, err)
	})
	mux.HandleFunc("GET /api/ops/indices", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.indexStatus(r.Context())
		if st == nil {
			st = []indexState{}
		}
		opsReply(w, st, err)
	})
	mux.HandleFunc("POST /api/ops/indices/{kind}/rebuild", func(w http.ResponseWriter, r *http.Request) {
		kind := r.PathValue("kind")
		if !esindex.ValidKind(kind) {
			opsReply(w, nil, usagef("no index kind %q: want catalog or education", kind))
			return
		}
		run, err := c.StartRebuild(r.Context(), kind, workflows.RebuildOptions{})
		if err != nil {
			opsReply(w, nil, err)
			return
		}
		writeOps(w, http.StatusAccepted, map[string]string{"index": c.Indices.Alias(kind), "workflow_id": run.GetID(), "run_id": run.GetRunID()})
	})
	return mux
}

// opsReply answers v, or err with the status its exit code stands for.
func opsReply(w http.ResponseWriter, v any, err error) {
	var ue usageError
	switch {
	case err == nil:
		writeOps(w, http.StatusOK, v)
	case errors.As(err, &ue):
		writeOps(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, notfound.Err):
		writeOps(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, workflows.ErrAlreadyRunning), errors.Is(err, workflows.ErrRebuildRunning):
		writeOps(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		writeOps(w, http.StatusBadGateway, map[string]string{"error": workflows.Brief(err)})
	}
}

func writeOps(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
