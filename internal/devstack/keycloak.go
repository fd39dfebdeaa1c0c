package devstack

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// KeycloakVersion is the identity provider of the local stack: Keycloak's
// distribution from Maven Central, run on the JDK Elasticsearch uses.
const KeycloakVersion = "26.5.6"

// The local realm: its users, their passwords and roles. Local only: the
// server listens on 127.0.0.1 and keeps nothing (an in-memory database
// that the realm file fills at every start).
const (
	Realm         = "avo"
	ClientID      = "avo"
	KeycloakAdmin = "admin"
	// KeycloakAdminPassword guards the admin console of a server bound to
	// 127.0.0.1, which a test uses to rotate the realm's keys.
	KeycloakAdminPassword = "avo-local-admin"
)

// LocalUsers are the realm's people, by role: user name and password.
// teacher2 and teacher3 are colleagues of the first teacher (another
// school's for teacher3), for sharing.
var LocalUsers = map[string][2]string{
	"teacher":  {"leerkracht", "leerkracht"},
	"teacher2": {"collega", "collega"},
	"teacher3": {"vakgenoot", "vakgenoot"},
	"pupil":    {"leerling", "leerling"},
	"editor":   {"redacteur", "redacteur"},
	"operator": {"beheerder", "beheerder"},
}

//go:embed idp/avo-realm.json
var realmFile []byte

// KeycloakOptions configure the local identity provider.
type KeycloakOptions struct {
	CacheDir string
	Name     string
	Port     int
	Logger   *slog.Logger
}

// Keycloak is a running identity provider.
type Keycloak struct {
	*Process
	// Issuer is the realm's issuer URL (tokens' iss, discovery under it).
	Issuer string
}

// StartKeycloak starts Keycloak in development mode on 127.0.0.1 with the
// avo realm imported, and waits until the realm's discovery answers.
func StartKeycloak(ctx context.Context, o KeycloakOptions) (*Keycloak, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = "dev"
	}
	javaHome, err := findJava()
	if err != nil {
		return nil, err
	}
	root := filepath.Join(o.CacheDir, "keycloak")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	// One start at a time per installation: Keycloak rebuilds itself in
	// its folder when it starts.
	unlock, err := lockFile(filepath.Join(root, ".install.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	home, err := installKeycloak(ctx, o, root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(home, "data", "import"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, "data", "import", "avo-realm.json"), realmFile, 0o644); err != nil {
		return nil, err
	}
	port, err := pickPort(o.Port, "keycloak")
	if err != nil {
		return nil, err
	}
	mgmt, err := FreePort()
	if err != nil {
		return nil, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	o.Logger.Info("starting keycloak", "version", KeycloakVersion, "url", url)
	p, err := start(startOptions{
		name: "keycloak-" + o.Name,
		path: filepath.Join(home, "bin", "kc.sh"),
		args: []string{"start-dev", "--http-host=127.0.0.1", fmt.Sprintf("--http-port=%d", port),
			fmt.Sprintf("--http-management-port=%d", mgmt), "--hostname=" + url,
			"--db=dev-mem", "--import-realm"},
		env: []string{"JAVA_HOME=" + javaHome, "JAVA_OPTS_KC_HEAP=-Xms64m -Xmx512m",
			"KC_BOOTSTRAP_ADMIN_USERNAME=" + KeycloakAdmin, "KC_BOOTSTRAP_ADMIN_PASSWORD=" + KeycloakAdminPassword},
		dir:    home,
		log:    filepath.Join(root, o.Name+".log"),
		marker: "keycloak",
	})
	if err != nil {
		return nil, err
	}
	p.URL = url
	k := &Keycloak{Process: p, Issuer: url + "/realms/" + Realm}
	if err := waitFor(ctx, p, 3*time.Minute, "keycloak on "+url, func(ctx context.Context) error {
		return httpOK(ctx, k.Issuer+"/.well-known/openid-configuration")
	}); err != nil {
		_ = p.Stop(10 * time.Second)
		return nil, err
	}
	return k, nil
}

// SignIn signs in at issuer as the local realm's user of role with the
// password grant (enabled for the local client only) and returns the
// access token.
func SignIn(ctx context.Context, issuer, role string) (string, error) {
	user, ok := LocalUsers[role]
	if !ok {
		return "", fmt.Errorf("no local user with role %q", role)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, issuer+"/protocol/openid-connect/token", strings.NewReader(url.Values{
		"grant_type": {"password"}, "client_id": {ClientID}, "scope": {"openid"},
		"username": {user[0]}, "password": {user[1]},
	}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("sign in as %s at %s: HTTP %d %s %v", user[0], issuer, res.StatusCode, out.Error, err)
	}
	return out.AccessToken, nil
}

// Stop ends the server.
func (k *Keycloak) Stop() error {
	if k == nil {
		return nil
	}
	return k.Process.Stop(30 * time.Second)
}

// installKeycloak unpacks the distribution into root once.
func installKeycloak(ctx context.Context, o KeycloakOptions, root string) (string, error) {
	home := filepath.Join(root, KeycloakVersion)
	stamp := filepath.Join(home, ".avo-installed")
	if _, err := os.Stat(stamp); err == nil {
		return home, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("mvn not found: Maven is needed to download Keycloak %s from Maven Central", KeycloakVersion)
	}
	zipPath, err := mavenCopy(ctx, mvn, o.CacheDir, "org.keycloak:keycloak-quarkus-dist:"+KeycloakVersion+":zip",
		"keycloak-quarkus-dist-"+KeycloakVersion+".zip", "Keycloak "+KeycloakVersion, o.Logger)
	if err != nil {
		return "", err
	}
	o.Logger.Info("unpacking keycloak", "zip", zipPath, "home", home)
	if err := unpack(zipPath, "keycloak-"+KeycloakVersion, home); err != nil {
		return "", err
	}
	if err := os.Chmod(filepath.Join(home, "bin", "kc.sh"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(stamp, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	return home, nil
}

// mavenCopy fetches one artifact through Maven into CACHE/downloads, once.
func mavenCopy(ctx context.Context, mvn, cacheDir, artifact, file, what string, log *slog.Logger) (string, error) {
	dir := filepath.Join(cacheDir, "downloads")
	path := filepath.Join(dir, file)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	log.Info("downloading from Maven Central", "what", what)
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "dependency:copy", "-Dartifact="+artifact, "-DoutputDirectory="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("could not download %s from Maven Central (%s): %v\n%s", what, artifact, err, lastLines(out, 15))
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("could not download %s from Maven Central: Maven reported success but %s is missing", what, path)
	}
	return path, nil
}
