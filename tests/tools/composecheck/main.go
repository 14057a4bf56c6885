// Command composecheck loads a Compose file, and the files merged over it in
// order as `docker compose -f a.yml -f b.yml` merges them, with compose-go, the
// loader Docker Compose itself uses; it prints the project and exits non-zero
// with the loader's error when the files are not a valid Compose project.
// Relative paths are resolved from the first file's directory, as Compose does.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: composecheck docker-compose.yml [override.yml ...]")
		os.Exit(2)
	}
	files := make([]string, 0, len(os.Args)-1)
	for _, arg := range os.Args[1:] {
		file, err := filepath.Abs(arg)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		files = append(files, file)
	}
	opts, err := cli.NewProjectOptions(files,
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithOsEnv,
		cli.WithDotEnv,
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
}
