package main

import (
	"context"
	"fmt"

	"github.com/pretrain/pretrain/hub"
	"github.com/pretrain/pretrain/modelstore"
)

// hubCmd groups the Hugging Face Hub client commands.
type hubCmd struct {
	Upload   hubUploadCmd   `cmd:"" help:"Upload a model directory as one commit; prints the commit id."`
	Info     hubInfoCmd     `cmd:"" help:"Print a model repo's files and sizes at a revision as JSON."`
	Download hubDownloadCmd `cmd:"" help:"Download the files the reference loader fetches, pinned to a commit; prints the hash."`
}

type hubUploadCmd struct {
	hubFlags `embed:""`
	Dir      string `arg:"" type:"existingdir" help:"Model directory to upload."`
	Repo     string `required:"" help:"Hub repo id, namespace/name."`
	Private  bool   `help:"Leave the repo private (by default it is made public after the commit)."`
	Message  string `help:"Commit message." default:"Upload model"`
}

func (c *hubUploadCmd) Run(ctx context.Context, e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	commit, err := cl.Upload(ctx, c.Dir, c.Repo, hub.UploadOptions{Message: c.Message})
	if err != nil {
		return err
	}
	if !c.Private {
		if err := cl.SetVisibility(ctx, c.Repo, false); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintln(e.stdout, commit)
	return err
}

type hubInfoCmd struct {
	hubFlags `embed:""`
	Repo     string `arg:"" help:"Hub repo id, namespace/name."`
	Revision string `help:"Hub revision. A branch or a commit." default:"main"`
}

func (c *hubInfoCmd) Run(ctx context.Context, e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	info, err := cl.ModelInfo(ctx, c.Repo, c.Revision)
	if err != nil {
		return err
	}
	type file struct {
		Path   string `json:"path"`
		Size   int64  `json:"size"`
		LFS    bool   `json:"lfs"`
		SHA256 string `json:"sha256,omitempty"`
	}
	out := struct {
		ID        string `json:"id"`
		SHA       string `json:"sha"`
		Private   bool   `json:"private"`
		TotalSize int64  `json:"total_size"`
		Files     []file `json:"files"`
	}{info.ID, info.SHA, info.Private, info.TotalSize(), nil}
	for _, f := range info.Files {
		x := file{Path: f.Path, Size: f.Size, LFS: f.LFS != nil}
		if f.LFS != nil {
			x.SHA256 = f.LFS.SHA256
		}
		out.Files = append(out.Files, x)
	}
	return printJSON(e, out)
}

type hubDownloadCmd struct {
	hubFlags `embed:""`
	Repo     string `arg:"" help:"Hub repo id, namespace/name."`
	Revision string `required:"" help:"Hub revision. A commit id (40 hex digits)."`
	Out      string `required:"" help:"Output path. The directory to create with the downloaded files."`
	MaxBytes int64  `name:"max-bytes" help:"Refuse repos whose files total more than this (0: no limit)."`
}

func (c *hubDownloadCmd) Run(ctx context.Context, e *env) error {
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	if err := cl.Download(ctx, c.Repo, c.Revision, c.Out, c.MaxBytes); err != nil {
		return err
	}
	h, err := modelstore.HashDirContext(ctx, c.Out)
	if err != nil {
		return err
	}
	return printJSON(e, map[string]string{"dir": c.Out, "hash": h})
}
