package s3store

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyauth "github.com/aws/smithy-go/auth"
)

// Every endpoint parameter but the three the rules never read is part of
// the key: a parameter a newer SDK adds fails this test until the key
// knows it.
func TestEndpointKeyCoversEveryParameter(t *testing.T) {
	covered := map[string]bool{"Bucket": true, "Region": true, "Endpoint": true, "UseFIPS": true, "UseDualStack": true,
		"ForcePathStyle": true, "Accelerate": true, "UseGlobalEndpoint": true, "UseObjectLambdaEndpoint": true,
		"DisableAccessPoints": true, "DisableMultiRegionAccessPoints": true, "UseArnRegion": true,
		"UseS3ExpressControlEndpoint": true, "DisableS3ExpressSessionAuth": true,
		"Key": true, "Prefix": true, "CopySource": true}
	typ := reflect.TypeOf(s3.EndpointParameters{})
	for i := range typ.NumField() {
		if !covered[typ.Field(i).Name] {
			t.Errorf("endpoint parameter %s is not in the key", typ.Field(i).Name)
		}
	}
	base := s3.EndpointParameters{Bucket: aws.String("b"), Region: aws.String("eu-west-1"),
		Endpoint: aws.String("http://127.0.0.1:1"), ForcePathStyle: aws.Bool(true)}
	same := base
	same.Key, same.Prefix = aws.String("records/x:y.json"), aws.String("records/")
	if keyOf(base) != keyOf(same) {
		t.Error("a key or prefix changes the endpoint key")
	}
	for _, change := range []func(*s3.EndpointParameters){
		func(p *s3.EndpointParameters) { p.Bucket = aws.String("c") },
		func(p *s3.EndpointParameters) { p.Bucket = nil },
		func(p *s3.EndpointParameters) { p.Region = aws.String("us-east-1") },
		func(p *s3.EndpointParameters) { p.ForcePathStyle = aws.Bool(false) },
		func(p *s3.EndpointParameters) { p.ForcePathStyle = nil },
		func(p *s3.EndpointParameters) { p.UseFIPS = aws.Bool(false) },
		func(p *s3.EndpointParameters) { p.DisableS3ExpressSessionAuth = aws.Bool(true) },
	} {
		other := base
		change(&other)
		if keyOf(other) == keyOf(base) {
			t.Errorf("%+v has the key of %+v", other, base)
		}
	}
}

// A remembered endpoint is the rules' own, signing properties included,
// for every bucket, path style or not.
func TestRememberedEndpointIsTheRules(t *testing.T) {
	rules := s3.NewDefaultEndpointResolverV2()
	r := rememberEndpoints(rules)
	ctx := context.Background()
	for _, p := range []s3.EndpointParameters{
		{Bucket: aws.String("avo"), Region: aws.String("us-east-1"), Endpoint: aws.String("http://127.0.0.1:7070"), ForcePathStyle: aws.Bool(true)},
		{Bucket: aws.String("partner-a"), Region: aws.String("us-east-1"), Endpoint: aws.String("http://127.0.0.1:7070"), ForcePathStyle: aws.Bool(true)},
		{Bucket: aws.String("archive"), Region: aws.String("eu-west-1")},
	} {
		want, err := rules.ResolveEndpoint(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // resolved, then remembered
			got, err := r.ResolveEndpoint(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if got.URI.String() != want.URI.String() {
				t.Errorf("%s: got %s, want %s", *p.Bucket, got.URI.String(), want.URI.String())
			}
			gotAuth, _ := smithyauth.GetAuthOptions(&got.Properties)
			wantAuth, _ := smithyauth.GetAuthOptions(&want.Properties)
			if len(gotAuth) == 0 || !reflect.DeepEqual(gotAuth, wantAuth) {
				t.Errorf("%s: signing options %+v, want %+v", *p.Bucket, gotAuth, wantAuth)
			}
		}
	}
	if len(r.known) != 3 {
		t.Errorf("%d endpoints remembered, want 3", len(r.known))
	}
}

// What one request writes into its endpoint's signing properties (the SDK
// does, while it signs) is not seen by the next.
func TestRememberedEndpointIsEachRequestsOwn(t *testing.T) {
	r := rememberEndpoints(s3.NewDefaultEndpointResolverV2())
	p := s3.EndpointParameters{Bucket: aws.String("avo"), Region: aws.String("us-east-1"),
		Endpoint: aws.String("http://127.0.0.1:7070"), ForcePathStyle: aws.Bool(true)}
	done := make(chan bool)
	for range 8 {
		go func() {
			for range 100 {
				e, err := r.ResolveEndpoint(context.Background(), p)
				opts, _ := smithyauth.GetAuthOptions(&e.Properties)
				if err != nil || len(opts) == 0 {
					done <- false
					return
				}
				if opts[0].SignerProperties.Has("written") {
					done <- false
					return
				}
				opts[0].SignerProperties.Set("written", true)
				e.Properties.Set("written", true)
			}
			done <- true
		}()
	}
	for range 8 {
		if !<-done {
			t.Fatal("a request saw what another wrote into its endpoint")
		}
	}
}
