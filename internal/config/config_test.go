package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("avo", pflag.ContinueOnError)
	AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestDefaultsPointAtTheLocalStack(t *testing.T) {
	t.Chdir(t.TempDir()) // no ./avo.yaml
	c, file, err := Load(flags(t), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if file != "" {
		t.Errorf("read %q with no file present", file)
	}
	if c.Temporal.Address != "127.0.0.1:7233" || c.S3.Endpoint != "http://127.0.0.1:7070" || !reflect.DeepEqual(c.Elasticsearch.URLs, []string{"http://127.0.0.1:9200"}) {
		t.Errorf("defaults: %+v", c)
	}
}

// Each layer overrides the one before: file, then environment, then flags.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(dir, "prod.yaml")
	err := os.WriteFile(file, []byte(`
temporal:
  address: temporal.prod:7233
  namespace: avo-prod
s3:
  endpoint: ""
  bucket: file-bucket
  region: eu-west-1
elasticsearch:
  urls: [https://es1:9200, https://es2:9200]
  username: avo
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	c, got, err := Load(
		flags(t, "--config", file, "--s3-bucket", "flag-bucket", "--es-url", "https://a:9200,https://b:9200"),
		env(map[string]string{"AVO_S3_BUCKET": "env-bucket", "AVO_TEMPORAL_NAMESPACE": "env-ns", "AVO_ELASTICSEARCH_PASSWORD": "secret"}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got != file {
		t.Errorf("file = %q", got)
	}
	checks := map[string][2]string{
		"address from file":     {c.Temporal.Address, "temporal.prod:7233"},
		"namespace from env":    {c.Temporal.Namespace, "env-ns"},
		"bucket from flag":      {c.S3.Bucket, "flag-bucket"},
		"endpoint emptied":      {c.S3.Endpoint, ""},
		"region from file":      {c.S3.Region, "eu-west-1"},
		"password from env":     {c.Elasticsearch.Password, "secret"},
		"task queue by default": {c.Temporal.TaskQueue, "avo"},
	}
	for name, v := range checks {
		if v[0] != v[1] {
			t.Errorf("%s: %q, want %q", name, v[0], v[1])
		}
	}
	if !reflect.DeepEqual(c.Elasticsearch.URLs, []string{"https://a:9200", "https://b:9200"}) {
		t.Errorf("urls from flag: %v", c.Elasticsearch.URLs)
	}
}

func TestBadConfigIsReported(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("avo.yaml", []byte("temporal:\n  adress: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(flags(t), env(nil)); err == nil || !strings.Contains(err.Error(), "adress") {
		t.Errorf("misspelt key: %v", err)
	}
	if _, _, err := Load(flags(t, "--config", filepath.Join(dir, "missing.yaml")), env(nil)); err == nil {
		t.Error("a named config file that is missing must be an error")
	}
	if _, _, err := Load(flags(t, "--config", "avo.yaml"), env(map[string]string{"AVO_S3_PATH_STYLE": "sometimes"})); err == nil {
		t.Error("a non-boolean boolean must be an error")
	}
}

func TestSecretsHaveNoFlags(t *testing.T) {
	c := Default()
	for _, s := range c.Settings() {
		secret := strings.Contains(s.Key, "password") || strings.Contains(s.Key, "api_key")
		if secret && s.Flag != "" {
			t.Errorf("%s can be given as a flag, visible to every user of the machine", s.Key)
		}
		if s.Env == "" || !strings.HasPrefix(s.Env, "AVO_") {
			t.Errorf("%s has no AVO_ variable", s.Key)
		}
	}
}
