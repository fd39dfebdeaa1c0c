package s3store

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// rememberedEndpoints resolves each distinct set of endpoint parameters
// once with the SDK's own rules and answers the same again after: the
// rules engine ran on every request, an eighth of a harvesting worker's
// time, and always gives the same endpoint (with the same signing
// properties) for the same bucket. Each request gets its own copy. The key, prefix and copy source are
// parameters the rules do not read, so they are left out of the key.
type rememberedEndpoints struct {
	rules s3.EndpointResolverV2
	mu    sync.RWMutex
	known map[endpointKey]smithyendpoints.Endpoint
}

func rememberEndpoints(rules s3.EndpointResolverV2) *rememberedEndpoints {
	return &rememberedEndpoints{rules: rules, known: map[endpointKey]smithyendpoints.Endpoint{}}
}

// maxRemembered bounds the endpoints kept: one a bucket and setting.
const maxRemembered = 1024

type endpointKey struct {
	bucket, region, endpoint string
	flags                    uint32 // each optional flag: set, and its value
}

func keyOf(p s3.EndpointParameters) endpointKey {
	k := endpointKey{bucket: str(p.Bucket), region: str(p.Region), endpoint: str(p.Endpoint)}
	for i, b := range []*bool{p.UseFIPS, p.UseDualStack, p.ForcePathStyle, p.Accelerate, p.UseGlobalEndpoint,
		p.UseObjectLambdaEndpoint, p.DisableAccessPoints, p.DisableMultiRegionAccessPoints, p.UseArnRegion,
		p.UseS3ExpressControlEndpoint, p.DisableS3ExpressSessionAuth} {
		if b != nil {
			k.flags |= 1 << (2 * i)
			if *b {
				k.flags |= 2 << (2 * i)
			}
		}
	}
	return k
}

func str(s *string) string {
	if s == nil {
		return "\xff" // unset, unlike ""
	}
	return *s
}

func (r *rememberedEndpoints) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	k := keyOf(p)
	r.mu.RLock()
	e, ok := r.known[k]
	r.mu.RUnlock()
	if ok {
		return copyEndpoint(e), nil
	}
	e, err := r.rules.ResolveEndpoint(ctx, p)
	if err != nil {
		return e, err
	}
	r.mu.Lock()
	if len(r.known) < maxRemembered {
		r.known[k] = copyEndpoint(e)
	}
	r.mu.Unlock()
	return e, nil
}

// copyEndpoint copies what a request may change: the SDK writes into an
// endpoint's signing properties while it signs, so each request gets its
// own.
func copyEndpoint(e smithyendpoints.Endpoint) smithyendpoints.Endpoint {
	var props smithy.Properties
	props.SetAll(&e.Properties)
	if opts, ok := smithyauth.GetAuthOptions(&e.Properties); ok {
		own := make([]*smithyauth.Option, len(opts))
		for i, o := range opts {
			c := &smithyauth.Option{SchemeID: o.SchemeID}
			c.IdentityProperties.SetAll(&o.IdentityProperties)
			c.SignerProperties.SetAll(&o.SignerProperties)
			own[i] = c
		}
		smithyauth.SetAuthOptions(&props, own)
	}
	e.Properties = props
	e.Headers = e.Headers.Clone()
	return e
}
