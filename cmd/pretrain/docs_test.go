package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

const modulePath = "github.com/pretrain/pretrain"

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	return root
}

// markdownDoc is a document split into what the checks read: prose lines (fenced code blocks
// left out) and the heading anchors GitHub gives it.
type markdownDoc struct {
	lines   []string // outside fenced code blocks; "" in their place, so numbers stay right
	anchors map[string]bool
}

func readMarkdown(t *testing.T, root, name string) markdownDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	d := markdownDoc{anchors: map[string]bool{}}
	seen := map[string]int{}
	fenced := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			d.lines = append(d.lines, "")
			continue
		}
		if fenced {
			d.lines = append(d.lines, "")
			continue
		}
		d.lines = append(d.lines, line)
		if h, ok := strings.CutPrefix(line, "#"); ok {
			slug := headingSlug(strings.TrimLeft(h, "#"))
			if n := seen[slug]; n > 0 {
				d.anchors[slug+"-"+strconv.Itoa(n)] = true
			} else {
				d.anchors[slug] = true
			}
			seen[slug]++
		}
	}
	return d
}

// headingSlug is GitHub's anchor for a heading: lower case, punctuation dropped, spaces to
// hyphens.
func headingSlug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

var (
	linkRE     = regexp.MustCompile(`\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpanRE = regexp.MustCompile("`([^`]+)`")
	modPkgRE   = regexp.MustCompile(regexp.QuoteMeta(modulePath) + `/([A-Za-z0-9_./-]+)`)
)

// TestDocsLinksAndPackages fails when a Markdown file of the repository (README.md,
// ARCHITECTURE.md, the packages' and testdata's) links to a relative path that does not exist
// in the repository (or to an anchor no heading has), name a path outside it,
// name a repository path in code that does not exist, name a Go package (by import path,
// or in a table's "package" column) that does not exist, or cite `pkg.Name` or
// `pkg.Type.Member` where the module's package has no such declaration.
func TestDocsLinksAndPackages(t *testing.T) {
	root := repoRoot(t)
	names := loadGoNames(t, root)
	docs := map[string]markdownDoc{}
	checked := markdownFiles(t, root)
	for _, name := range checked {
		docs[name] = readMarkdown(t, root, name)
	}
	anchorsOf := func(name string) (map[string]bool, bool) {
		if d, ok := docs[name]; ok {
			return d.anchors, true
		}
		if !strings.HasSuffix(name, ".md") {
			return nil, false
		}
		return readMarkdown(t, root, name).anchors, true
	}
	for _, name := range checked {
		d := docs[name]
		for i, line := range d.lines {
			where := fmt.Sprintf("%s:%d", name, i+1)
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				if err := checkLink(root, name, m[1], anchorsOf); err != nil {
					t.Errorf("%s: link %q: %v", where, m[1], err)
				}
			}
			for _, m := range codeSpanRE.FindAllStringSubmatch(line, -1) {
				if err := checkCodePath(root, names, name, m[1]); err != nil {
					t.Errorf("%s: `%s`: %v", where, m[1], err)
				}
				if err := names.check(m[1]); err != nil {
					t.Errorf("%s: `%s`: %v", where, m[1], err)
				}
			}
			for _, m := range modPkgRE.FindAllStringSubmatch(line, -1) {
				if pkg := strings.TrimRight(m[1], "./"); !names.isPackage(pkg) {
					t.Errorf("%s: %s/%s is not a package of this module", where, modulePath, pkg)
				}
			}
		}
		for _, row := range tableColumn(d, "package") {
			for _, m := range codeSpanRE.FindAllStringSubmatch(row.cell, -1) {
				if !names.isPackage(m[1]) {
					t.Errorf("%s:%d: package table names `%s`, which is not a package of this module", name, row.line, m[1])
				}
			}
		}
	}
}

// walkRepo calls fn for each directory and file of the repository (paths slash-separated and
// relative to root, "." for root), as the go tool sees the module: hidden and _ directories
// and nested modules left out, and npm's installed packages (node_modules, which CI installs
// for the JS client test).
func walkRepo(t *testing.T, root string, fn func(rel string, e fs.DirEntry)) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && p != root {
			if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") || e.Name() == "node_modules" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		rel, _ := filepath.Rel(root, p)
		fn(filepath.ToSlash(rel), e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// repoDirs lists the repository's directories ([walkRepo]).
func repoDirs(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	walkRepo(t, root, func(rel string, e fs.DirEntry) {
		if e.IsDir() {
			out = append(out, rel)
		}
	})
	return out
}

// repoFiles lists the repository's files ([walkRepo]) whose names end in one of exts.
func repoFiles(t *testing.T, root string, exts ...string) []string {
	t.Helper()
	var out []string
	walkRepo(t, root, func(rel string, e fs.DirEntry) {
		if !e.IsDir() && slices.Contains(exts, path.Ext(e.Name())) {
			out = append(out, rel)
		}
	})
	return out
}

// outsidePaths are what the project's files must not point to: the machine's shared folder
// (../shared/DESIGN.md, its reference notes) is not part of the repository.
var outsidePaths = []string{"/work/", "../shared/", "sn9-spec.md", "DESIGN.md", "STYLE.md"}

// TestNoPathsOutsideRepository fails when a source file, script or document of the repository
// names a path outside it (this file, which lists them, aside).
func TestNoPathsOutsideRepository(t *testing.T) {
	root := repoRoot(t)
	files := repoFiles(t, root, ".go", ".md", ".py", ".js", ".mjs", ".cjs", ".sh", ".service")
	for _, f := range files {
		if f == "cmd/pretrain/docs_test.go" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, p := range outsidePaths {
				if strings.Contains(line, p) {
					t.Errorf("%s:%d: names %s, outside the repository: %s", f, i+1, p, strings.TrimSpace(line))
				}
			}
		}
	}
	if len(files) < 100 {
		t.Fatalf("read only %d files under %s", len(files), root)
	}
}

// markdownFiles lists the repository's Markdown files, relative to root.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	out := repoFiles(t, root, ".md")
	for _, want := range []string{"README.md", "ARCHITECTURE.md"} {
		if !slices.Contains(out, want) {
			t.Fatalf("%s is missing from the repository root", want)
		}
	}
	return out
}

// checkLink checks one link target of doc.
func checkLink(root, doc, target string, anchorsOf func(string) (map[string]bool, bool)) error {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
		return nil
	}
	file, frag, _ := strings.Cut(target, "#")
	name := doc
	if file != "" {
		name = path.Clean(path.Join(path.Dir(doc), file))
		if path.IsAbs(file) || name == ".." || strings.HasPrefix(name, "../") {
			return errors.New("points outside the repository")
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			return errors.New("no such file in the repository")
		}
	}
	if frag == "" {
		return nil
	}
	anchors, ok := anchorsOf(name)
	if ok && !anchors[frag] {
		return fmt.Errorf("%s has no heading with anchor #%s", name, frag)
	}
	return nil
}

// checkCodePath checks a code span of doc that names a path: it may not leave the repository,
// and one that starts with a top-level directory of the repository (or with ../) must exist.
func checkCodePath(root string, names goNames, doc, span string) error {
	if strings.HasPrefix(span, "/work/") {
		return errors.New("names a path outside the repository")
	}
	if strings.HasPrefix(span, "../") {
		p := path.Join(path.Dir(doc), span)
		if p == ".." || strings.HasPrefix(p, "../") {
			return errors.New("names a path outside the repository")
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			return errors.New("no such path in the repository")
		}
		return nil
	}
	if strings.ContainsAny(span, " \t*{}<>…|$") || !strings.Contains(span, "/") {
		return nil
	}
	p := strings.TrimPrefix(span, "./")
	top, _, _ := strings.Cut(p, "/")
	if fi, err := os.Stat(filepath.Join(root, top)); top == "" || err != nil || !fi.IsDir() || strings.HasPrefix(top, ".") {
		return nil // not a repository path (/api/…, DIR/…, MODEL_DIR/…, a repo id, the binary)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err == nil {
		return nil
	}
	if dir, _, ok := strings.Cut(p, "."); ok && names.isPackage(dir) {
		return nil // pkg/path.Identifier, checked by checkGoName
	}
	return errors.New("no such path in the repository")
}

// tableCell is one cell of a Markdown table column, with its line number.
type tableCell struct {
	line int
	cell string
	row  []string
}

// tableColumn returns the cells, in every table of d whose header has a column named header,
// of that column (with their whole rows).
func tableColumn(d markdownDoc, header string) []tableCell {
	var out []tableCell
	col := -1
	for i, line := range d.lines {
		if !strings.HasPrefix(line, "|") {
			col = -1
			continue
		}
		cells := splitRow(line)
		if col < 0 {
			if i+1 < len(d.lines) && isSeparatorRow(d.lines[i+1]) {
				col = slices.Index(cells, header)
			}
			if col < 0 {
				col = -2 // a table without that column: skip it to its end
			}
			continue
		}
		if col == -2 || isSeparatorRow(line) || col >= len(cells) {
			continue
		}
		out = append(out, tableCell{line: i + 1, cell: cells[col], row: cells})
	}
	return out
}

// isSeparatorRow reports whether line is a table's header separator (| --- | --- |).
func isSeparatorRow(line string) bool {
	return strings.Trim(line, "|-: ") == "" && strings.Contains(line, "-")
}

// splitRow splits a table row into trimmed cells; `\|` is a literal bar.
func splitRow(line string) []string {
	line = strings.ReplaceAll(strings.Trim(strings.TrimSpace(line), "|"), `\|`, "\x00")
	var cells []string
	for c := range strings.SplitSeq(line, "|") {
		cells = append(cells, strings.ReplaceAll(strings.TrimSpace(c), "\x00", "|"))
	}
	return cells
}

// impurePackages are the standard packages the pure core may not import: disk, network,
// clocks, processes, randomness.
var impurePackages = []string{"os", "os/exec", "os/signal", "io/fs", "net", "net/http", "syscall", "time",
	"math/rand", "math/rand/v2", "crypto/rand"}

// TestArchitectureLayers checks the rules of ARCHITECTURE.md against the code: every package
// of the module is in its layer table, imports only packages of lower layers, imports no test
// helper outside tests, and the pure core imports nothing impure.
func TestArchitectureLayers(t *testing.T) {
	root := repoRoot(t)
	d := readMarkdown(t, root, "ARCHITECTURE.md")
	layer := map[string]int{}
	for _, c := range tableColumn(d, "package") {
		n, err := strconv.Atoi(c.row[0])
		if err != nil {
			t.Fatalf("ARCHITECTURE.md:%d: layer %q is not a number", c.line, c.row[0])
		}
		for _, m := range codeSpanRE.FindAllStringSubmatch(c.cell, -1) {
			layer[m[1]] = n
		}
	}
	if len(layer) == 0 {
		t.Fatal("ARCHITECTURE.md has no layer table (columns layer, package)")
	}
	pkgs := modulePackages(t, root)
	for _, p := range pkgs {
		l, ok := layer[p.dir]
		if !ok {
			t.Errorf("package %s is not in ARCHITECTURE.md's layer table", p.dir)
			continue
		}
		for _, imp := range p.imports {
			dep, ok := strings.CutPrefix(imp, modulePath+"/")
			if !ok {
				if slices.Contains(pureCore, p.dir) && slices.Contains(impurePackages, imp) {
					t.Errorf("%s is pure but imports %s", p.dir, imp)
				}
				continue
			}
			if strings.HasSuffix(dep, "test") {
				t.Errorf("%s (not a test file) imports the test helper %s", p.dir, dep)
			}
			if dl, ok := layer[dep]; ok && dl >= l {
				t.Errorf("%s (layer %d) imports %s (layer %d): a package may import only lower layers", p.dir, l, dep, dl)
			}
		}
	}
	for _, p := range pureCore {
		if !strings.Contains(strings.Join(d.lines, "\n"), "`"+p+"`") {
			t.Errorf("ARCHITECTURE.md does not name the pure package `%s`", p)
		}
	}
}

// pureCore are the packages ARCHITECTURE.md calls pure.
var pureCore = []string{"pyrand", "chain", "competition", "scoring"}

type goPackage struct {
	dir       string // slash-separated, relative to the module root
	files     []string
	testFiles []string
	imports   []string
}

// goNameRE matches a cited Go name: pkg.Name or pkg.Type.Member, pkg a package's directory
// or its last element.
var goNameRE = regexp.MustCompile(`^([a-z][a-z0-9]*(?:/[a-z0-9]+)*)\.([A-Z]\w*)(?:\.([A-Z]\w*))?(?:\(\))?$`)

// pkgNames are a package's declarations: top-level names, and members (methods, interface
// methods and struct fields) of its types.
type pkgNames struct{ top, members map[string]bool }

// goNames indexes the module's declarations by package directory and by last path element.
type goNames struct {
	byDir  map[string]pkgNames
	byBase map[string][]string
	tests  map[string]bool // Test functions of every package
}

// isPackage reports whether dir (slash-separated, relative to the root) holds a package of
// the module with non-test Go files.
func (g goNames) isPackage(dir string) bool {
	_, ok := g.byDir[dir]
	return ok
}

func loadGoNames(t *testing.T, root string) goNames {
	t.Helper()
	g := goNames{byDir: map[string]pkgNames{}, byBase: map[string][]string{}, tests: map[string]bool{}}
	fset := token.NewFileSet()
	for _, p := range modulePackages(t, root) {
		n := pkgNames{top: map[string]bool{}, members: map[string]bool{}}
		for _, f := range p.files {
			file, err := parser.ParseFile(fset, filepath.Join(root, filepath.FromSlash(p.dir), f), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			collectNames(file, n)
		}
		for _, f := range p.testFiles {
			b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(p.dir), f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range testFuncRE.FindAllSubmatch(b, -1) {
				g.tests[string(m[1])] = true
			}
		}
		g.byDir[p.dir] = n
		g.byBase[path.Base(p.dir)] = append(g.byBase[path.Base(p.dir)], p.dir)
	}
	return g
}

func collectNames(file *ast.File, n pkgNames) {
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl:
			if d.Recv != nil {
				n.members[d.Name.Name] = true
			} else {
				n.top[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					n.top[s.Name.Name] = true
					var fields *ast.FieldList
					switch ty := s.Type.(type) {
					case *ast.StructType:
						fields = ty.Fields
					case *ast.InterfaceType:
						fields = ty.Methods
					}
					if fields != nil {
						for _, f := range fields.List {
							for _, name := range f.Names {
								n.members[name.Name] = true
							}
						}
					}
				case *ast.ValueSpec:
					for _, name := range s.Names {
						n.top[name.Name] = true
					}
				}
			}
		}
	}
}

var (
	testFuncRE = regexp.MustCompile(`(?m)^func (Test[A-Z0-9_]\w*)\(`)
	testNameRE = regexp.MustCompile(`^Test[A-Z0-9_]\w*$`)
)

// check reports a cited pkg.Name or pkg.Type.Member that the module does not declare, or a
// cited TestName that no test file declares. Names of packages outside the module
// (os.Executable) are not checked.
func (g goNames) check(span string) error {
	if testNameRE.MatchString(span) && !g.tests[span] {
		return errors.New("no test of this module has that name")
	}
	m := goNameRE.FindStringSubmatch(span)
	if m == nil {
		return nil
	}
	dirs := g.byBase[m[1]]
	if strings.Contains(m[1], "/") {
		if _, ok := g.byDir[m[1]]; !ok {
			return nil // not a package path of this module
		}
		dirs = []string{m[1]}
	}
	for _, d := range dirs {
		n := g.byDir[d]
		if n.top[m[2]] && (m[3] == "" || n.members[m[3]]) {
			return nil
		}
	}
	if len(dirs) == 0 {
		return nil
	}
	return fmt.Errorf("package %s declares no such name", strings.Join(dirs, " or "))
}

// modulePackages lists the module's packages (directories with non-test Go files outside
// testdata, as go list finds them) with their files and non-test imports.
func modulePackages(t *testing.T, root string) []goPackage {
	t.Helper()
	var out []goPackage
	for _, dir := range repoDirs(t, root) {
		if slices.Contains(strings.Split(dir, "/"), "testdata") {
			continue
		}
		bp, err := build.ImportDir(filepath.Join(root, filepath.FromSlash(dir)), 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if len(bp.GoFiles) == 0 {
			continue // tests only
		}
		out = append(out, goPackage{dir: dir, files: bp.GoFiles, testFiles: slices.Concat(bp.TestGoFiles, bp.XTestGoFiles), imports: bp.Imports})
	}
	if len(out) < 10 {
		t.Fatalf("found only %d packages under %s", len(out), root)
	}
	return out
}
