package auth

import (
	"slices"
	"strings"
	"testing"
)

func TestUserFromClaims(t *testing.T) {
	a, err := New(Config{
		Issuers: []Issuer{{URL: "https://idp.example/realms/avo", Audience: "avo"}},
		Users:   map[string][]string{"https://idp.example/realms/avo u-9": {Editor}, "u-8": {Operator}},
	})
	if err != nil {
		t.Fatal(err)
	}
	leerid := Issuer{URL: "https://leerid.example", Audience: "avo", RolesClaim: "realm_access.roles",
		RoleMap: map[string]string{"leerling": Pupil, "leerkracht": Teacher}}
	plain := Issuer{URL: "https://idp.example/realms/avo", Audience: "avo", RolesClaim: "roles"}
	for _, c := range []struct {
		name   string
		is     Issuer
		claims map[string]any
		id     string
		roles  []string
		err    string
	}{
		{"sub and a role list", plain, map[string]any{"sub": "u-1", "roles": []any{"teacher", "unknown"}}, "u-1", []string{Teacher}, ""},
		{"roles as a string", plain, map[string]any{"sub": "u-1", "roles": "operator teacher"}, "u-1", []string{Teacher, Operator}, ""},
		{"no sub: ov_account_uuid", leerid, map[string]any{"ov_account_uuid": "ov-7", "realm_access": map[string]any{"roles": []any{"leerling"}}}, "ov-7", []string{Pupil}, ""},
		{"mapped roles only", leerid, map[string]any{"sub": "u-2", "realm_access": map[string]any{"roles": []any{"teacher", "leerkracht"}}}, "u-2", []string{Teacher}, ""},
		{"roles from the users list, by issuer and id", plain, map[string]any{"sub": "u-9", "roles": []any{"teacher"}}, "u-9", []string{Teacher, Editor}, ""},
		{"roles from the users list, by id", plain, map[string]any{"sub": "u-8"}, "u-8", []string{Operator}, ""},
		{"no roles", plain, map[string]any{"sub": "u-3"}, "u-3", []string{}, ""},
		{"no user id", plain, map[string]any{"email": "x@example.org"}, "", nil, "no user id in the token (claims sub, ov_account_uuid)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := a.user(&c.is, c.claims)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("err = %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.ID != c.id || !slices.Equal(u.Roles, c.roles) {
				t.Errorf("user %q roles %v, want %q %v", u.ID, u.Roles, c.id, c.roles)
			}
		})
	}
}

func TestRolesInclude(t *testing.T) {
	for _, c := range []struct {
		roles []string
		role  string
		want  bool
	}{
		{[]string{Editor}, Teacher, true},
		{[]string{Operator}, Teacher, true},
		{[]string{Teacher}, Editor, false},
		{[]string{Pupil}, Teacher, false},
		{[]string{Teacher}, Pupil, false},
		{nil, Pupil, false},
	} {
		if got := (&User{Roles: c.roles}).Is(c.role); got != c.want {
			t.Errorf("%v is %s = %v, want %v", c.roles, c.role, got, c.want)
		}
	}
	var nobody *User
	if nobody.Is(Pupil) {
		t.Error("nil user holds a role")
	}
}

func TestConfigCheck(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Issuers: []Issuer{{URL: "https://idp"}}}, "audience missing"},
		{Config{Issuers: []Issuer{{Audience: "avo"}}}, "url missing"},
		{Config{Issuers: []Issuer{{URL: "https://idp", Audience: "avo", RoleMap: map[string]string{"x": "admin"}}}}, `"admin" is not one of`},
		{Config{Users: map[string][]string{"u": {"root"}}}, `"root" is not one of`},
		{Config{Static: []StaticToken{{Token: "short", User: "dev"}}}, "at least 16 characters"},
		{Config{Static: []StaticToken{{Token: "0123456789abcdef"}}}, "user missing"},
	} {
		err := c.cfg.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: err = %v, want %q", c.cfg, err, c.want)
		}
	}
}
