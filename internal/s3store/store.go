// Package s3store reads and writes avo's objects in S3: raw pages, mapped
// records, quarantine, reports and harvest state. It works with AWS and any
// S3-compatible server (MinIO, Ceph, IBM COS, versitygw).
package s3store

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"go.opentelemetry.io/otel/attribute"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
)

// ErrTooLarge is returned for an object over the caller's size limit.
var ErrTooLarge = errors.New("object too large")

// Store is one bucket.
type Store struct {
	Client *s3.Client
	Bucket string
}

// New builds a client from the standard AWS credential chain (environment,
// shared config and credentials files, SSO, web identity, instance roles).
func New(ctx context.Context, c config.S3) (*Store, error) {
	conns := c.Connections
	if conns <= 0 {
		conns = config.Default().S3.Connections
	}
	// The SDK keeps 10 idle connections a host by default: with more
	// writers than that, connections are opened again on every page.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = conns, conns
	})
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region), awsconfig.WithHTTPClient(httpClient)}
	if c.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	// Timed once loaded: the loader adds a CA bundle (AWS_CA_BUNDLE) to
	// the SDK's own client type only.
	cfg.HTTPClient = timedClient{cfg.HTTPClient}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.UsePathStyle = c.PathStyle
		o.EndpointResolverV2 = rememberEndpoints(s3.NewDefaultEndpointResolverV2())
		// Checksums only where the API requires them: several
		// S3-compatible servers reject the newer default trailers.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{Client: client, Bucket: c.Bucket}, nil
}

// URI names an object of this store for people and reports.
func (s *Store) URI(key string) string { return "s3://" + s.Bucket + "/" + key }

// EnsureBucket creates the bucket when it does not exist.
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.Client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.Bucket})
	if err == nil {
		return nil
	}
	if !IsNotFound(err) {
		return fmt.Errorf("s3: bucket %s: %w", s.Bucket, err)
	}
	_, err = s.Client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &s.Bucket})
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return fmt.Errorf("s3: create bucket %s: %w", s.Bucket, err)
	}
	return nil
}

// BucketExists reports whether the store's bucket is there.
func (s *Store) BucketExists(ctx context.Context) (bool, error) {
	_, err := s.Client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &s.Bucket})
	if err == nil {
		return true, nil
	}
	if IsNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("s3: bucket %s: %w", s.Bucket, err)
}

// Put writes an object.
func (s *Store) Put(ctx context.Context, key string, body []byte, contentType string) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", s.URI(key), err)
	}
	return nil
}

// PutGzip writes body gzip-compressed; the key should end in .gz.
func (s *Store) PutGzip(ctx context.Context, key string, body []byte, contentType string) error {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(body); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &key, Body: bytes.NewReader(buf.Bytes()),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(buf.Len())),
		// Stored compressed and served as such: readers gunzip themselves.
		Metadata: map[string]string{"avo-encoding": "gzip"},
	})
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", s.URI(key), err)
	}
	return nil
}

// PutReader writes size bytes read from body (a spooled file, say) without
// holding them in memory.
func (s *Store) PutReader(ctx context.Context, key string, body io.ReadSeeker, size int64, contentType string, meta map[string]string) error {
	_, err := s.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &key, Body: body,
		ContentType: aws.String(contentType), ContentLength: aws.Int64(size), Metadata: meta,
	})
	if err != nil {
		return fmt.Errorf("s3: put %s: %w", s.URI(key), err)
	}
	return nil
}

// requestLatency times every S3 request, by method.
var requestLatency = telemetry.Histogram("avo.s3.request.duration", "Latency of S3 requests, by HTTP method and status")

// timedClient times the requests of the SDK's HTTP client.
type timedClient struct{ next aws.HTTPClient }

func (t timedClient) Do(r *http.Request) (*http.Response, error) {
	ctx, done := telemetry.Timed(r.Context(), requestLatency, "s3 "+r.Method, attribute.String("method", r.Method))
	res, err := t.next.Do(r.WithContext(ctx))
	code := 0
	if err == nil {
		code = res.StatusCode
	}
	done(code, err)
	return res, err
}

// PutIf writes an object only if it is still the version the writer
// read: ifMatch is that version's ETag; "" means the object must not exist
// yet. It returns the new ETag; IsConflict tells a write that lost to
// another.
func (s *Store) PutIf(ctx context.Context, key string, body []byte, contentType, ifMatch string) (string, error) {
	in := &s3.PutObjectInput{
		Bucket: &s.Bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(body))),
	}
	if ifMatch == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := s.Client.PutObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("s3: put %s: %w", s.URI(key), err)
	}
	return aws.ToString(out.ETag), nil
}

// IsConflict reports a conditional write that found another version than
// it expected (HTTP 412, or 409 while another conditional write of the
// same key is under way).
func IsConflict(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && (re.HTTPStatusCode() == http.StatusPreconditionFailed || re.HTTPStatusCode() == http.StatusConflict) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

// PutJSON writes v as JSON.
func (s *Store) PutJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("s3: encode %s: %w", key, err)
	}
	return s.Put(ctx, key, b, "application/json")
}

// Object is a read object with its ETag.
type Object struct {
	Body []byte
	ETag string
	// VersionID is set when the bucket keeps versions.
	VersionID string
}

// Get reads an object whole, up to limit bytes (0: no limit).
func (s *Store) Get(ctx context.Context, key string, limit int64) (Object, error) {
	out, err := s.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.Bucket, Key: &key})
	if err != nil {
		return Object{}, fmt.Errorf("s3: get %s: %w", s.URI(key), err)
	}
	defer out.Body.Close()
	r := io.Reader(out.Body)
	if limit > 0 {
		r = io.LimitReader(out.Body, limit+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return Object{}, fmt.Errorf("s3: read %s: %w", s.URI(key), err)
	}
	if limit > 0 && int64(len(b)) > limit {
		return Object{}, fmt.Errorf("s3: %s: %w (over %d bytes)", s.URI(key), ErrTooLarge, limit)
	}
	return Object{Body: b, ETag: aws.ToString(out.ETag), VersionID: aws.ToString(out.VersionId)}, nil
}

// Head reads an object's ETag without its body; IsNotFound tells a
// missing object.
func (s *Store) Head(ctx context.Context, key string) (string, error) {
	out, err := s.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.Bucket, Key: &key})
	if err != nil {
		return "", fmt.Errorf("s3: head %s: %w", s.URI(key), err)
	}
	return aws.ToString(out.ETag), nil
}

// GetGzip reads an object written by PutGzip.
func (s *Store) GetGzip(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.Get(ctx, key, 0)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(obj.Body))
	if err != nil {
		return nil, fmt.Errorf("s3: %s is not gzip: %w", s.URI(key), err)
	}
	return io.ReadAll(zr)
}

// GetJSON reads a JSON object into v.
func (s *Store) GetJSON(ctx context.Context, key string, v any) error {
	_, err := s.GetJSONVersion(ctx, key, v)
	return err
}

// GetJSONVersion reads a JSON object into v and returns its version (its
// ETag), for a write that must hold only over what was read (PutIf).
func (s *Store) GetJSONVersion(ctx context.Context, key string, v any) (string, error) {
	obj, err := s.Get(ctx, key, 0)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(obj.Body, v); err != nil {
		return "", fmt.Errorf("s3: decode %s: %w", s.URI(key), err)
	}
	return obj.ETag, nil
}

// Delete removes an object; a missing object is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	_, err := s.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.Bucket, Key: &key})
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("s3: delete %s: %w", s.URI(key), err)
	}
	return nil
}

// DeletePrefix deletes every object under prefix.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, o := range objs {
		if err := s.Delete(ctx, o.Key); err != nil {
			return err
		}
	}
	return nil
}

// ObjectInfo describes a listed object.
type ObjectInfo struct {
	Key          string
	ETag         string
	Size         int64
	LastModified time.Time
}

// ListPage lists up to max keys under prefix after the continuation token;
// it returns the next token, empty at the end.
func (s *Store) ListPage(ctx context.Context, prefix, token string, max int32) ([]ObjectInfo, string, error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.Bucket, Prefix: aws.String(prefix), MaxKeys: aws.Int32(max)}
	if token != "" {
		in.ContinuationToken = aws.String(token)
	}
	out, err := s.Client.ListObjectsV2(ctx, in)
	if err != nil {
		return nil, "", fmt.Errorf("s3: list %s: %w", s.URI(prefix), err)
	}
	objs := make([]ObjectInfo, 0, len(out.Contents))
	for _, o := range out.Contents {
		objs = append(objs, ObjectInfo{
			Key: aws.ToString(o.Key), ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified),
		})
	}
	next := ""
	if aws.ToBool(out.IsTruncated) {
		next = aws.ToString(out.NextContinuationToken)
	}
	return objs, next, nil
}

// List returns every key under prefix.
func (s *Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var all []ObjectInfo
	token := ""
	for {
		objs, next, err := s.ListPage(ctx, prefix, token, 1000)
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
		if next == "" {
			return all, nil
		}
		token = next
	}
}

// IsNotFound reports whether err means the bucket or object does not exist.
func IsNotFound(err error) bool {
	var nsk *types.NoSuchKey
	var nsb *types.NoSuchBucket
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nsb) || errors.As(err, &nf) {
		return true
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusNotFound {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey" || ae.ErrorCode() == "NoSuchBucket")
}

// IsPermanent reports whether an S3 error cannot be cured by retrying:
// access denied, a missing bucket, bad request.
func IsPermanent(err error) bool {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		c := re.HTTPStatusCode()
		return c >= 400 && c < 500 && c != 408 && c != 429
	}
	return false
}

// Explain says in one line why a bucket (below prefix) could not be
// listed or read, and what to do: a missing bucket, a missing permission,
// credentials refused; other errors as they are.
func Explain(bucket, prefix string, err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return fmt.Sprintf("bucket %s does not exist (at this endpoint and region)", bucket)
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return fmt.Sprintf("listing s3://%s/%s is not allowed: the credentials need s3:ListBucket on arn:aws:s3:::%s (and s3:GetObject on its metadata keys)",
				bucket, prefix, bucket)
		case "InvalidAccessKeyId", "SignatureDoesNotMatch":
			return fmt.Sprintf("listing s3://%s/%s: the credentials are not accepted (%s)", bucket, prefix, ae.ErrorCode())
		}
	}
	return err.Error()
}

// IsDenied reports an error of a request the credentials may not make.
func IsDenied(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "AccessDenied", "Forbidden", "AllAccessDisabled":
			return true
		}
	}
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden
}

// Presign returns a URL that lets anyone holding it GET key for ttl (the
// signature of the credentials this store uses; S3 allows up to 7 days),
// as contentType: a browser plays a browse copy from it directly.
func (s *Store) Presign(ctx context.Context, key string, ttl time.Duration, contentType string) (string, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)}
	if contentType != "" {
		in.ResponseContentType = aws.String(contentType)
	}
	req, err := s3.NewPresignClient(s.Client, s3.WithPresignExpires(ttl)).PresignGetObject(ctx, in)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", s.URI(key), err)
	}
	return req.URL, nil
}
