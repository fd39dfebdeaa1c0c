// Package config holds avo's settings and loads them in the usual order:
// built-in defaults (the local stack of `avo dev`), then a YAML file, then
// AVO_* environment variables, then command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/archiefvooronderwijs/avo/internal/auth"
)

// Config is everything avo needs to reach Temporal, S3 and Elasticsearch.
type Config struct {
	Temporal      Temporal      `yaml:"temporal" json:"temporal"`
	S3            S3            `yaml:"s3" json:"s3"`
	Elasticsearch Elasticsearch `yaml:"elasticsearch" json:"elasticsearch"`
	// Sources is the path of the sources file (which partners to harvest).
	Sources string  `yaml:"sources" json:"sources"`
	Log     Log     `yaml:"log" json:"log"`
	Serve   Serve   `yaml:"serve" json:"serve"`
	Harvest Harvest `yaml:"harvest" json:"harvest"`
	Worker  Worker  `yaml:"worker" json:"worker"`
}

// Worker configures what a worker serves beside its work.
type Worker struct {
	// Listen is the host:port of the worker's /metrics, /healthz and
	// /readyz ("" serves none).
	Listen string `yaml:"listen" json:"listen"`
}

// Harvest tunes the workers' harvests.
type Harvest struct {
	// Writers bounds the records one page writes to S3 at once: real S3
	// answers in 20-50 ms, so throughput wants many in flight.
	Writers int `yaml:"writers" json:"writers"`
}

// Temporal locates the Temporal cluster and the task queue avo's workers poll.
type Temporal struct {
	Address   string `yaml:"address" json:"address"`
	Namespace string `yaml:"namespace" json:"namespace"`
	TaskQueue string `yaml:"task_queue" json:"task_queue"`
	// APIKey authenticates against Temporal Cloud; keep it in the environment.
	APIKey string `yaml:"api_key" json:"-"`
	TLS    TLS    `yaml:"tls" json:"tls"`
}

// TLS configures a client certificate (mTLS) or a private CA.
type TLS struct {
	Enabled    bool   `yaml:"enabled" json:"enabled"`
	CertFile   string `yaml:"cert_file" json:"cert_file"`
	KeyFile    string `yaml:"key_file" json:"key_file"`
	CAFile     string `yaml:"ca_file" json:"ca_file"`
	ServerName string `yaml:"server_name" json:"server_name"`
}

// S3 locates the bucket that holds raw pages, mapped records, quarantine
// and reports. Credentials come from the standard AWS chain (environment,
// shared config and credentials files, SSO, instance roles), never from here.
type S3 struct {
	// Endpoint is empty for AWS itself; set it for MinIO, Ceph, IBM COS or
	// the local versitygw.
	Endpoint  string `yaml:"endpoint" json:"endpoint"`
	Region    string `yaml:"region" json:"region"`
	Bucket    string `yaml:"bucket" json:"bucket"`
	PathStyle bool   `yaml:"path_style" json:"path_style"`
	// Profile selects a named profile of the shared AWS config.
	Profile string `yaml:"profile" json:"profile"`
	// Connections is how many connections to S3 are kept open for reuse:
	// as many as the writers of the pages a worker runs at once (8 pages
	// of 32 by default); a write beyond them opens one and closes it.
	Connections int `yaml:"connections" json:"connections"`
}

// Elasticsearch locates the cluster and names avo's indices.
type Elasticsearch struct {
	URLs     []string `yaml:"urls" json:"urls"`
	Username string   `yaml:"username" json:"username"`
	Password string   `yaml:"password" json:"-"`
	APIKey   string   `yaml:"api_key" json:"-"`
	// CACert is a PEM file for clusters with a private CA.
	CACert string `yaml:"ca_cert" json:"ca_cert"`
	// IndexPrefix names the aliases: PREFIX-catalog, PREFIX-education.
	IndexPrefix string `yaml:"index_prefix" json:"index_prefix"`
	// KeepIndices is how many indices an alias left stay for rollback.
	KeepIndices int `yaml:"keep_indices" json:"keep_indices"`
}

// Serve configures the search API.
type Serve struct {
	// Listen is the API's host:port.
	Listen string `yaml:"listen" json:"listen"`
	// PublicURL is where partners and browsers reach the API (behind a
	// proxy, not Listen): the OAI-PMH baseURL and the records' pages are
	// made from it. Empty: http://LISTEN.
	PublicURL string `yaml:"public_url" json:"public_url"`
	// Origins may call the API from a browser (CORS); "*" for any. Tokens
	// travel in the Authorization header, never in cookies, so "*" lends
	// a page no one's credentials.
	Origins []string `yaml:"origins" json:"origins"`
	// Anonymous is what a caller without a token gets: pupil (the pupil
	// view of the education index), teacher, or none.
	Anonymous string `yaml:"anonymous" json:"anonymous"`
	// PlayTTLSeconds is how long a browse copy's presigned URL works (0:
	// ten minutes; S3 allows at most a week).
	PlayTTLSeconds int `yaml:"play_ttl_seconds" json:"play_ttl_seconds"`
	// Auth lists the identity providers whose tokens are accepted, the
	// roles of users, and static tokens for local use.
	Auth auth.Config `yaml:"auth" json:"auth"`
	// Limits bound each caller (zero: the defaults of avo serve --help).
	Limits Limits `yaml:"limits" json:"limits"`
}

// Limits bound each caller of avo serve: requests per second and at once
// per signed-in user and per anonymous client address, and body bytes.
type Limits struct {
	UserRate     float64 `yaml:"user_rate" json:"user_rate"`
	UserBurst    int     `yaml:"user_burst" json:"user_burst"`
	AddressRate  float64 `yaml:"address_rate" json:"address_rate"`
	AddressBurst int     `yaml:"address_burst" json:"address_burst"`
	MaxBody      int64   `yaml:"max_body" json:"max_body"`
}

// Log sets the level and format of avo's own log on stderr.
type Log struct {
	Level  string `yaml:"level" json:"level"`
	Format string `yaml:"format" json:"format"`
}

// Local stack addresses, shared by the defaults and `avo dev`.
const (
	LocalTemporalPort      = 7233
	LocalS3Port            = 7070
	LocalElasticsearchPort = 9200
)

// Default returns the settings of the local stack that `avo dev` runs.
func Default() Config {
	return Config{
		Temporal: Temporal{Address: fmt.Sprintf("127.0.0.1:%d", LocalTemporalPort), Namespace: "default", TaskQueue: "avo"},
		S3: S3{
			Endpoint: fmt.Sprintf("http://127.0.0.1:%d", LocalS3Port), Region: "us-east-1",
			Bucket: "avo", PathStyle: true, Connections: 256,
		},
		Elasticsearch: Elasticsearch{
			URLs:        []string{fmt.Sprintf("http://127.0.0.1:%d", LocalElasticsearchPort)},
			IndexPrefix: "avo",
			KeepIndices: 2,
		},
		Serve:   Serve{Listen: "127.0.0.1:8080", Origins: []string{"*"}, Anonymous: auth.Pupil},
		Worker:  Worker{Listen: "127.0.0.1:9464"},
		Sources: "sources.yaml",
		Log:     Log{Level: "info", Format: "text"},
		Harvest: Harvest{Writers: 32},
	}
}

// Setting is one configurable value with its file key, variable and flag.
type Setting struct {
	Key  string // dotted path in the YAML file
	Env  string
	Flag string // empty for secrets, which never go on a command line
	Help string

	str     *string
	strs    *[]string
	boolean *bool
	num     *int
}

// Settings lists every setting of c, bound to its fields.
func (c *Config) Settings() []Setting {
	return []Setting{
		{Key: "temporal.address", Env: "AVO_TEMPORAL_ADDRESS", Flag: "temporal-address", Help: "Temporal frontend host:port", str: &c.Temporal.Address},
		{Key: "temporal.namespace", Env: "AVO_TEMPORAL_NAMESPACE", Flag: "temporal-namespace", Help: "Temporal namespace", str: &c.Temporal.Namespace},
		{Key: "temporal.task_queue", Env: "AVO_TEMPORAL_TASK_QUEUE", Flag: "task-queue", Help: "task queue avo's workers poll", str: &c.Temporal.TaskQueue},
		{Key: "temporal.api_key", Env: "AVO_TEMPORAL_API_KEY", Help: "Temporal Cloud API key", str: &c.Temporal.APIKey},
		{Key: "temporal.tls.enabled", Env: "AVO_TEMPORAL_TLS", Flag: "temporal-tls", Help: "connect to Temporal over TLS", boolean: &c.Temporal.TLS.Enabled},
		{Key: "temporal.tls.cert_file", Env: "AVO_TEMPORAL_TLS_CERT", Flag: "temporal-tls-cert", Help: "client certificate (PEM) for Temporal mTLS", str: &c.Temporal.TLS.CertFile},
		{Key: "temporal.tls.key_file", Env: "AVO_TEMPORAL_TLS_KEY", Flag: "temporal-tls-key", Help: "client key (PEM) for Temporal mTLS", str: &c.Temporal.TLS.KeyFile},
		{Key: "temporal.tls.ca_file", Env: "AVO_TEMPORAL_TLS_CA", Flag: "temporal-tls-ca", Help: "CA certificate (PEM) of the Temporal server", str: &c.Temporal.TLS.CAFile},
		{Key: "temporal.tls.server_name", Env: "AVO_TEMPORAL_TLS_SERVER_NAME", Flag: "temporal-tls-server-name", Help: "server name to verify", str: &c.Temporal.TLS.ServerName},
		{Key: "s3.endpoint", Env: "AVO_S3_ENDPOINT", Flag: "s3-endpoint", Help: "S3 endpoint URL (empty for AWS)", str: &c.S3.Endpoint},
		{Key: "s3.region", Env: "AVO_S3_REGION", Flag: "s3-region", Help: "S3 region", str: &c.S3.Region},
		{Key: "s3.bucket", Env: "AVO_S3_BUCKET", Flag: "s3-bucket", Help: "bucket for raw pages, records, quarantine and reports", str: &c.S3.Bucket},
		{Key: "s3.path_style", Env: "AVO_S3_PATH_STYLE", Flag: "s3-path-style", Help: "path-style S3 addressing (MinIO, Ceph, versitygw)", boolean: &c.S3.PathStyle},
		{Key: "s3.profile", Env: "AVO_S3_PROFILE", Flag: "s3-profile", Help: "named profile of the shared AWS config", str: &c.S3.Profile},
		{Key: "s3.connections", Env: "AVO_S3_CONNECTIONS", Flag: "s3-connections", Help: "connections to S3 kept open for reuse", num: &c.S3.Connections},
		{Key: "elasticsearch.urls", Env: "AVO_ELASTICSEARCH_URLS", Flag: "es-url", Help: "Elasticsearch URL (repeat or comma-separate for several)", strs: &c.Elasticsearch.URLs},
		{Key: "elasticsearch.username", Env: "AVO_ELASTICSEARCH_USERNAME", Flag: "es-username", Help: "Elasticsearch user", str: &c.Elasticsearch.Username},
		{Key: "elasticsearch.password", Env: "AVO_ELASTICSEARCH_PASSWORD", Help: "Elasticsearch password", str: &c.Elasticsearch.Password},
		{Key: "elasticsearch.api_key", Env: "AVO_ELASTICSEARCH_API_KEY", Help: "Elasticsearch API key", str: &c.Elasticsearch.APIKey},
		{Key: "elasticsearch.ca_cert", Env: "AVO_ELASTICSEARCH_CA_CERT", Flag: "es-ca-cert", Help: "CA certificate (PEM) of the cluster", str: &c.Elasticsearch.CACert},
		{Key: "elasticsearch.index_prefix", Env: "AVO_ELASTICSEARCH_INDEX_PREFIX", Flag: "es-index-prefix", Help: "prefix of avo's index aliases", str: &c.Elasticsearch.IndexPrefix},
		{Key: "elasticsearch.keep_indices", Env: "AVO_ELASTICSEARCH_KEEP_INDICES", Flag: "es-keep-indices", Help: "previous indices kept for rollback after a rebuild", num: &c.Elasticsearch.KeepIndices},
		{Key: "serve.listen", Env: "AVO_SERVE_LISTEN", Flag: "listen", Help: "host:port of the search API (avo serve)", str: &c.Serve.Listen},
		{Key: "serve.public_url", Env: "AVO_SERVE_PUBLIC_URL", Flag: "public-url", Help: "where partners reach the API (the OAI-PMH baseURL; default http://LISTEN)", str: &c.Serve.PublicURL},
		{Key: "serve.origins", Env: "AVO_SERVE_ORIGINS", Flag: "origins", Help: "origins that may call the API from a browser (* for any)", strs: &c.Serve.Origins},
		{Key: "serve.anonymous", Env: "AVO_SERVE_ANONYMOUS", Flag: "anonymous", Help: "what callers without a token get: pupil, teacher or none", str: &c.Serve.Anonymous},
		{Key: "serve.play_ttl_seconds", Env: "AVO_SERVE_PLAY_TTL_SECONDS", Flag: "play-ttl-seconds", Help: "seconds a browse copy's presigned URL works (0: 600)", num: &c.Serve.PlayTTLSeconds},
		{Key: "worker.listen", Env: "AVO_WORKER_LISTEN", Flag: "worker-listen", Help: "host:port of the worker's /metrics, /healthz and /readyz (empty: none)", str: &c.Worker.Listen},
		{Key: "harvest.writers", Env: "AVO_HARVEST_WRITERS", Flag: "harvest-writers", Help: "records one page writes to S3 at once", num: &c.Harvest.Writers},
		{Key: "sources", Env: "AVO_SOURCES", Flag: "sources", Help: "sources file", str: &c.Sources},
		{Key: "log.level", Env: "AVO_LOG_LEVEL", Flag: "log-level", Help: "log level: debug, info, warn, error", str: &c.Log.Level},
		{Key: "log.format", Env: "AVO_LOG_FORMAT", Flag: "log-format", Help: "log format: text or json", str: &c.Log.Format},
	}
}

// ConfigFlag names the flag (and AVO_CONFIG the variable) that selects the file.
const ConfigFlag = "config"

// DefaultFile is read when present and no other file is named.
const DefaultFile = "avo.yaml"

// AddFlags registers a flag for every setting that may be given on the
// command line, with the defaults shown in help.
func AddFlags(fs *pflag.FlagSet) {
	fs.String(ConfigFlag, "", "config file (default ./"+DefaultFile+" when present; env AVO_CONFIG)")
	d := Default()
	for _, s := range d.Settings() {
		if s.Flag == "" {
			continue
		}
		help := s.Help + " (env " + s.Env + ")"
		switch {
		case s.str != nil:
			fs.String(s.Flag, *s.str, help)
		case s.strs != nil:
			fs.StringSlice(s.Flag, *s.strs, help)
		case s.boolean != nil:
			fs.Bool(s.Flag, *s.boolean, help)
		case s.num != nil:
			fs.Int(s.Flag, *s.num, help)
		}
	}
}

// Load builds the configuration: defaults, then the file, then the
// environment (through lookup), then the flags that were set in fs.
// It returns the path of the file read, if any.
func Load(fs *pflag.FlagSet, lookup func(string) (string, bool)) (Config, string, error) {
	c := Default()
	path := ""
	explicit := false
	if fs != nil {
		if f := fs.Lookup(ConfigFlag); f != nil && f.Value.String() != "" {
			path, explicit = f.Value.String(), true
		}
	}
	if v, ok := lookup("AVO_CONFIG"); ok && v != "" && !explicit {
		path, explicit = v, true
	}
	if path == "" {
		if _, err := os.Stat(DefaultFile); err == nil {
			path = DefaultFile
		}
	}
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			if explicit || !errors.Is(err, os.ErrNotExist) {
				return c, "", fmt.Errorf("config file: %w", err)
			}
		} else if err := decodeFile(b, &c); err != nil {
			return c, "", fmt.Errorf("config file %s: %w", path, err)
		}
	}
	for _, s := range c.Settings() {
		v, ok := lookup(s.Env)
		if !ok {
			continue
		}
		if err := s.set(v); err != nil {
			return c, path, fmt.Errorf("environment %s: %w", s.Env, err)
		}
	}
	if fs != nil {
		for _, s := range c.Settings() {
			if s.Flag == "" {
				continue
			}
			f := fs.Lookup(s.Flag)
			if f == nil || !f.Changed {
				continue
			}
			v := f.Value.String()
			if s.strs != nil {
				// StringSlice prints as [a,b]; read the values themselves.
				vals, _ := fs.GetStringSlice(s.Flag)
				v = strings.Join(vals, ",")
			}
			if err := s.set(v); err != nil {
				return c, path, fmt.Errorf("flag --%s: %w", s.Flag, err)
			}
		}
	}
	return c, path, c.Validate()
}

func decodeFile(b []byte, c *Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)                                            // a misspelt key is an error, not a silent default
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) { // io.EOF: empty file
		return err
	}
	return nil
}

func (s Setting) set(v string) error {
	switch {
	case s.str != nil:
		*s.str = v
	case s.strs != nil:
		var out []string
		for _, part := range strings.Split(v, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
		*s.strs = out
	case s.boolean != nil:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: want true or false, got %q", s.Key, v)
		}
		*s.boolean = b
	case s.num != nil:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%s: want a whole number, got %q", s.Key, v)
		}
		*s.num = n
	}
	return nil
}

// Value returns the setting's current value as text.
func (s Setting) Value() string {
	switch {
	case s.str != nil:
		return *s.str
	case s.strs != nil:
		return strings.Join(*s.strs, ",")
	case s.boolean != nil:
		return strconv.FormatBool(*s.boolean)
	case s.num != nil:
		return strconv.Itoa(*s.num)
	}
	return ""
}

// Secret reports whether the value must not be printed.
func (s Setting) Secret() bool { return s.Flag == "" }

// Validate checks what every command needs.
func (c Config) Validate() error {
	var errs []error
	if c.Temporal.Address == "" {
		errs = append(errs, errors.New("temporal.address is empty"))
	}
	if c.Temporal.Namespace == "" {
		errs = append(errs, errors.New("temporal.namespace is empty"))
	}
	if c.Temporal.TaskQueue == "" {
		errs = append(errs, errors.New("temporal.task_queue is empty"))
	}
	if c.S3.Bucket == "" {
		errs = append(errs, errors.New("s3.bucket is empty"))
	}
	if len(c.Elasticsearch.URLs) == 0 {
		errs = append(errs, errors.New("elasticsearch.urls is empty"))
	}
	if c.Elasticsearch.IndexPrefix == "" {
		errs = append(errs, errors.New("elasticsearch.index_prefix is empty"))
	}
	if c.Elasticsearch.KeepIndices < 0 {
		errs = append(errs, errors.New("elasticsearch.keep_indices is negative"))
	}
	if c.S3.Connections < 1 || c.S3.Connections > 4096 {
		errs = append(errs, fmt.Errorf("s3.connections %d: want 1 to 4096", c.S3.Connections))
	}
	switch c.Serve.Anonymous {
	case auth.Pupil, auth.Teacher, "none":
	default:
		errs = append(errs, fmt.Errorf("serve.anonymous %q: want pupil, teacher or none", c.Serve.Anonymous))
	}
	if err := c.Serve.Auth.Check(); err != nil {
		errs = append(errs, fmt.Errorf("serve.%w", err))
	}
	if c.Harvest.Writers < 1 || c.Harvest.Writers > 1024 {
		errs = append(errs, fmt.Errorf("harvest.writers %d: want 1 to 1024", c.Harvest.Writers))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: want text or json", c.Log.Format))
	}
	return errors.Join(errs...)
}
