// Drives the official Hugging Face JS client (@huggingface/hub, pinned in package-lock.json)
// against a hub, for hub/hubserver's jsclient_test.go. One JSON argument:
//   {"mode": "upload", "hubUrl", "token", "repo", "dir"}:
//       createRepo (private), then uploadFiles of every file under dir; prints {"commit"}.
//   {"mode": "download", "hubUrl", "token", "repo", "revisions": [...], "missing", "out"}:
//       modelInfo at each revision, listFiles (recursive), listCommits, fileExists of each
//       file and of missing, downloadFile of each file into out; prints what each call returned.
import { createRepo, uploadFiles, modelInfo, listFiles, listCommits, fileExists, downloadFile } from "@huggingface/hub";
import { openAsBlob } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";

const args = JSON.parse(process.argv[2]);
const common = { hubUrl: args.hubUrl, accessToken: args.token };
const repo = { type: "model", name: args.repo };

async function walk(dir) {
	const out = [];
	for (const e of await readdir(dir, { withFileTypes: true })) {
		const p = join(dir, e.name);
		if (e.isDirectory()) out.push(...(await walk(p)));
		else out.push(p);
	}
	return out;
}

async function upload() {
	await createRepo({ ...common, repo, private: true });
	const files = [];
	for (const p of await walk(args.dir)) {
		files.push({ path: relative(args.dir, p).split("\\").join("/"), content: await openAsBlob(p) });
	}
	const res = await uploadFiles({ ...common, repo, files, commitTitle: "upload from huggingface.js", useXet: false });
	return { commit: res.commit.oid };
}

async function download() {
	const infos = {};
	for (const rev of args.revisions) {
		const info = await modelInfo({ ...common, name: args.repo, revision: rev, additionalFields: ["sha", "author"] });
		infos[rev] = { id: info.id, name: info.name, private: info.private, sha: info.sha, author: info.author };
	}
	const files = [];
	for await (const f of listFiles({ ...common, repo, recursive: true })) {
		files.push(f);
	}
	const commits = [];
	for await (const c of listCommits({ ...common, repo, batchSize: 1 })) {
		commits.push(c.oid);
	}
	const exists = {};
	for (const f of files.filter((f) => f.type === "file")) {
		exists[f.path] = await fileExists({ ...common, repo, path: f.path });
		const blob = await downloadFile({ ...common, repo, path: f.path });
		const dest = join(args.out, f.path);
		await mkdir(dirname(dest), { recursive: true });
		await writeFile(dest, Buffer.from(await blob.arrayBuffer()));
	}
	exists[args.missing] = await fileExists({ ...common, repo, path: args.missing });
	return { infos, files, commits, exists };
}

const result = args.mode === "upload" ? await upload() : await download();
process.stdout.write(JSON.stringify(result));
