package hubserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/pretrain/pretrain/hub"
)

// handleRefs answers GET /api/models/{ns}/{name}/refs (list_repo_refs): the one branch.
func (s *Server) handleRefs(w http.ResponseWriter, r *http.Request) {
	_, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	writeJSONResponse(w, "application/json", map[string]any{
		"branches":     []map[string]string{{"name": "main", "ref": "refs/heads/main", "targetCommit": meta.Head}},
		"converts":     []any{},
		"tags":         []any{},
		"pullRequests": []any{},
	})
}

// handleCommits answers GET /api/models/{ns}/{name}/commits/{rev} (list_repo_commits,
// listCommits): the history from rev back to the repo's first commit, newest first, a page
// at a time (?limit=, at most 1,000) with the next page in a Link header. Authors are the repo's namespace, the only
// one that may write to it.
func (s *Server) handleCommits(w http.ResponseWriter, r *http.Request) {
	repo, meta, ok := s.access(w, r, r.PathValue("ns"), r.PathValue("name"), false)
	if !ok {
		return
	}
	c, ok := s.resolve(w, repo, meta, r.PathValue("rev"))
	if !ok {
		return
	}
	q := r.URL.Query()
	if cur := q.Get("cursor"); cur != "" {
		if hub.ValidateCommit(cur) != nil {
			apiError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		next, err := s.readCommit(repo, cur)
		if err != nil {
			apiError(w, http.StatusBadRequest, "", "invalid cursor")
			return
		}
		c = next
	}
	page := s.treePage
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n < page {
		page = n // huggingface.js asks for ?limit=100
	}
	out := []map[string]any{}
	for len(out) < page {
		out = append(out, map[string]any{
			"id": c.ID, "title": c.Summary, "message": c.Description, "date": c.Time.UTC().Format(hubTime),
			"authors": []map[string]string{{"user": r.PathValue("ns")}},
		})
		if c.Parent == "" {
			c = nil
			break
		}
		parent, err := s.readCommit(repo, c.Parent)
		if err != nil {
			s.internal(w, "commits", fmt.Errorf("parent of %s: %w", c.ID, err))
			return
		}
		c = parent
	}
	if c != nil {
		q.Set("cursor", c.ID)
		next := url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, baseURL(r), next.EscapedPath()+"?"+next.RawQuery))
	}
	writeJSONResponse(w, "application/json", out)
}
