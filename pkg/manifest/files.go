package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// expand turns the paths given to Load into the files to read: a file as
// given, a directory as every *.yaml and *.yml file below it, sorted. A file
// reached twice is read once.
func expand(paths []string) ([]string, error) {
	var files []string
	var errs []error
	seen := make(map[string]bool)
	add := func(file string) {
		if clean := filepath.Clean(file); !seen[clean] {
			seen[clean] = true
			files = append(files, file)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !info.IsDir() {
			add(p)
			continue
		}
		found, err := yamlFilesBelow(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range found {
			add(f)
		}
	}
	return files, errors.Join(errs...)
}

// yamlFilesBelow lists the *.yaml and *.yml files below dir, sorted,
// skipping directories whose names start with '.'.
func yamlFilesBelow(dir string) ([]string, error) {
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
			found = append(found, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%s: no *.yaml or *.yml files in the directory", dir)
	}
	sort.Strings(found)
	return found, nil
}
