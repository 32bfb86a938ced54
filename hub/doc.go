// Package hub is a client for the subset of the Hugging Face Hub HTTP API that SN9 uses: model
// info at a revision with file sizes, a pinned, verified, resumable download of exactly the
// files the reference's transformers loader fetches, and upload of a model directory as one
// commit (preupload, Git LFS batch upload, NDJSON commit), private first, public later.
//
// The same client talks to huggingface.co and to [hubserver.Server], the local hub. Paths,
// query strings and headers follow huggingface_hub (src/huggingface_hub/hf_api.py,
// file_download.py, lfs.py, _commit_api.py); each request cites what it mirrors.
//
// Repositories, file names and every response are untrusted: names are validated before any
// path is built, sizes are bounded before and during transfer, and every downloaded file is
// checked against the size and hash the model info announced.
package hub
