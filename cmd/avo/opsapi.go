package main

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
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
				opsReply(w, r, nil, usagef("limit %q: want 1 to 1000", v))
				return
			}
			limit = n
		}
		rows, err := c.ListHarvests(r.Context(), r.URL.Query().Get("source"), limit)
		if rows == nil {
			rows = []workflows.HarvestListing{}
		}
		opsReply(w, r, rows, err)
	})
	mux.HandleFunc("GET /api/ops/harvests/{source}", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.HarvestStatus(r.Context(), r.PathValue("source"), r.URL.Query().Get("set"))
		opsReply(w, r, st, err)
	})
	mux.HandleFunc("POST /api/ops/harvests/{source}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		o := harvestStartOptions{set: q.Get("set"), from: q.Get("from"), until: q.Get("until"), full: q.Get("full") == "true"}
		src, err := a.loadSource(r.PathValue("source"))
		if err == nil {
			err = o.check(r.Context(), src)
		}
		if err != nil {
			opsReply(w, r, nil, err)
			return
		}
		run, err := c.StartHarvest(r.Context(), src, workflows.HarvestOptions{Set: o.set, From: o.from, Until: o.until, Full: o.full})
		if err != nil {
			opsReply(w, r, nil, err)
			return
		}
		api.WriteJSON(w, http.StatusAccepted, map[string]any{"source": src.ID, "sets": run.Sets, "workflow_id": run.GetID(), "run_id": run.GetRunID()})
	})
	mux.HandleFunc("POST /api/ops/harvests/{source}/cancel", func(w http.ResponseWriter, r *http.Request) {
		id, err := c.CancelHarvest(r.Context(), r.PathValue("source"), r.URL.Query().Get("set"))
		opsReply(w, r, map[string]string{"workflow_id": id, "requested": "cancel"}, err)
	})
	mux.HandleFunc("GET /api/ops/quarantine", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
		defer cancel()
		rows, err := bucket.ListQuarantine(ctx, c.Store, bucket.QuarantineFilter{Source: r.URL.Query().Get("source")})
		if rows == nil {
			rows = []bucket.QuarantinedRecord{}
		}
		opsReply(w, r, rows, err)
	})
	mux.HandleFunc("GET /api/ops/quarantine/{key...}", func(w http.ResponseWriter, r *http.Request) {
		q, err := bucket.ReadQuarantine(r.Context(), c.Store, r.PathValue("key"))
		opsReply(w, r, q, err)
	})
	mux.HandleFunc("GET /api/ops/indices", func(w http.ResponseWriter, r *http.Request) {
		st, err := c.indexStatus(r.Context())
		if st == nil {
			st = []indexState{}
		}
		opsReply(w, r, st, err)
	})
	mux.HandleFunc("POST /api/ops/indices/{kind}/rebuild", func(w http.ResponseWriter, r *http.Request) {
		kind := r.PathValue("kind")
		if !esindex.ValidKind(kind) {
			opsReply(w, r, nil, usagef("no index kind %q: want catalog or education", kind))
			return
		}
		run, err := c.StartRebuild(r.Context(), kind, workflows.RebuildOptions{})
		if err != nil {
			opsReply(w, r, nil, err)
			return
		}
		api.WriteJSON(w, http.StatusAccepted, map[string]string{"index": c.Indices.Alias(kind), "workflow_id": run.GetID(), "run_id": run.GetRunID()})
	})
	return mux
}

// httpStatus is the HTTP status of each of the CLI's exit codes.
var httpStatus = map[int]int{exitUsage: http.StatusBadRequest, exitNotFound: http.StatusNotFound, exitConflict: http.StatusConflict}

// opsReply answers v, or err with the status its exit code stands for.
func opsReply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err == nil {
		api.WriteJSON(w, http.StatusOK, v)
		return
	}
	status, ok := httpStatus[exitCode(r.Context(), err)]
	if !ok {
		status = http.StatusBadGateway
	}
	api.WriteJSON(w, status, map[string]string{"error": workflows.Brief(err)})
}
