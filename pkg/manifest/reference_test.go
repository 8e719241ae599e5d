package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReferenceExamples loads the YAML examples of docs/reference.md, so the
// reference cannot show an object that Freshet would refuse.
func TestReferenceExamples(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	var examples []string
	for _, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		example, _, _ := strings.Cut(block, "```")
		examples = append(examples, example)
	}
	if len(examples) < 2 {
		t.Fatalf("found %d YAML examples in the reference, want the Function and the Pipeline", len(examples))
	}
	file := write(t, t.TempDir(), "reference.yaml", strings.Join(examples, "---\n"))
	set, err := Load(file)
	if err != nil {
		t.Fatalf("the reference examples do not load:\n%v", err)
	}
	if len(set.Functions) != 1 || len(set.Pipelines) != 1 {
		t.Errorf("loaded %d Functions and %d Pipelines, want 1 and 1", len(set.Functions), len(set.Pipelines))
	}
	if _, err := set.Vertices(); err != nil {
		t.Errorf("Vertices: %v", err)
	}
}
