// Package client talks to a pith enclave: it fetches the attestation with a
// fresh nonce, verifies it against a manifest and policy the caller trusts,
// pins the OHTTP key configuration the verified report binds, and then
// seals every request to that key (optionally through an OHTTP relay) and
// opens the answers, streamed ones included.
//
// A Client is an http.RoundTripper: give it to an http.Client and any code
// that speaks the Ollama API (ollama's own api.Client among them) talks to
// the enclave sealed, unchanged.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pith-project/pith/attest"
	// The client verifies SEV-SNP and TDX evidence: register the vendor verifiers.
	_ "github.com/pith-project/pith/attest/hwverify"
	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/ohttp"
)

// Options say which enclave to trust and how to reach it.
type Options struct {
	// URL is the enclave's base URL (attestation and, without a relay, the gateway).
	URL string
	// AttestationURL is the base URL New fetches the attestation
	// document from (GET /v1/attestation?nonce=...); default URL. With a
	// relay, point it at a plain HTTP forwarder beside the relay that
	// passes that one request on to the enclave, so that the enclave
	// never sees this client's address. The forwarder need not be
	// trusted: the document authenticates itself (the vendor's signature
	// chain, and REPORT_DATA binding this client's fresh nonce and the
	// key configuration), and is verified and pinned exactly as one
	// fetched from URL.
	AttestationURL string
	// RelayURL, when set, receives the sealed requests instead of the
	// gateway: an OHTTP relay sees who asks, never what. Unless
	// AttestationURL points elsewhere, the enclave still sees this
	// client's address once, when New fetches the attestation from URL
	// (so then make the client well before its first request). When the
	// enclave rotates its keys, the client verifies it again through the
	// relay, sealed to the old key while the enclave still keeps it. A
	// client idle for longer than that grace period verifies it again
	// through AttestationURL when that is not URL; otherwise it gets
	// ErrKeyExpired instead of a verification that would show the enclave
	// its address: make a new Client.
	RelayURL string
	// Manifest holds the expected launch measurements; Policy the rest of
	// what the verifier demands (set Policy.AllowDev for the stand-in).
	Manifest *attest.Manifest
	Policy   attest.Policy
	// HTTP is the transport for the outer requests (default http.DefaultClient).
	HTTP *http.Client
	// Unchunked seals every request as one RFC 9458 message and waits for
	// the whole answer; the default is chunked OHTTP, which streams.
	Unchunked bool
}

// Client is a verified connection to one enclave.
type Client struct {
	opts Options

	mu     sync.Mutex
	cfg    ohttp.KeyConfig
	suite  ohttp.Suite // of cfg, one this client can seal with
	result *attest.Result
	// rotated: an answer said the pinned key is a previous one
	// (KeyRotatedHeader), so the next request verifies again first.
	rotated atomic.Bool
}

// New verifies the enclave and returns a client pinned to its key.
func New(ctx context.Context, opts Options) (*Client, error) {
	if opts.URL == "" {
		return nil, errors.New("client: no enclave URL")
	}
	if opts.Manifest == nil {
		return nil, errors.New("client: no manifest: the expected measurements are what makes verification mean something")
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	if opts.AttestationURL == "" {
		opts.AttestationURL = opts.URL
	}
	opts.AttestationURL = strings.TrimRight(opts.AttestationURL, "/")
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	if opts.RelayURL != "" || opts.AttestationURL != opts.URL {
		// A redirect from the relay or the forwarder (or from anyone on
		// the path to a plain-HTTP one) could send this client to the
		// enclave itself, its address beside its request.
		hc := *opts.HTTP
		hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			return fmt.Errorf("client: %s redirected to %s, which is not followed with a relay or a forwarder: it could show the enclave this client's address", via[0].URL.Redacted(), req.URL.Redacted())
		}
		opts.HTTP = &hc
	}
	c := &Client{opts: opts}
	if _, err := c.Verify(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Verify fetches a fresh attestation from Options.AttestationURL (the
// enclave itself by default), verifies it, and pins the key configuration
// it binds. New calls it; without a relay, the client calls it again when
// the gateway says its key is unknown (the enclave rotated its keys).
func (c *Client) Verify(ctx context.Context) (*attest.Result, error) {
	nonce := make([]byte, attest.NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	body, err := FetchAttestation(ctx, c.opts.HTTP, c.opts.AttestationURL, nonce)
	if err != nil {
		return nil, err
	}
	return c.pin(body, nonce)
}

// Refresh verifies the enclave again through the gateway (and the relay,
// if any): GET /v1/attestation sealed to the pinned key, which the
// enclave, having rotated its keys, keeps for a grace period. So the
// enclave does not see this client's address, as Verify would show it
// just before the request that found the rotation. The client refreshes
// by itself when an answer says the enclave rotated its keys; a
// long-lived client with a relay that may sit idle for longer than the
// grace period calls it now and then, so that its key never expires
// (ErrKeyExpired).
func (c *Client) Refresh(ctx context.Context) (*attest.Result, error) {
	nonce := make([]byte, attest.NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://pith/v1/attestation?"+url.Values{"nonce": {hex.EncodeToString(nonce)}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.roundTrip(req, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: attestation through the gateway: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, attest.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("client: reading the attestation: %w", err)
	}
	res, err := c.pin(body, nonce)
	if err == nil {
		c.rotated.Store(false)
	}
	return res, err
}

// pin verifies the attestation document body for nonce and pins the key
// configuration it binds.
func (c *Client) pin(body, nonce []byte) (*attest.Result, error) {
	doc, err := attest.ParseDocument(body)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	res, err := attest.Verify(doc, nonce, c.opts.Policy, c.opts.Manifest)
	if err != nil {
		return res, fmt.Errorf("client: %w", err)
	}
	cfg, suite, err := pickConfig(doc.KeyConfig)
	if err != nil {
		return res, err
	}
	c.mu.Lock()
	c.cfg, c.suite, c.result = cfg, suite, res
	c.mu.Unlock()
	return res, nil
}

// FetchAttestation asks the enclave at base for the attestation document
// that binds nonce (GET /v1/attestation) and returns it unparsed.
func FetchAttestation(ctx context.Context, hc *http.Client, base string, nonce []byte) ([]byte, error) {
	u, err := url.Parse(strings.TrimRight(base, "/") + "/v1/attestation")
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("client: %q is not an http or https URL", base)
	}
	u.RawQuery = url.Values{"nonce": {hex.EncodeToString(nonce)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: fetching the attestation: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("client: attestation from %s: %s", u.Redacted(), resp.Status)
	}
	// One byte over attest's own limit, so ParseDocument refuses an
	// oversized document by name instead of parsing a truncated one.
	body, err := io.ReadAll(io.LimitReader(resp.Body, attest.MaxDocumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("client: reading the attestation: %w", err)
	}
	return body, nil
}

// pickConfig prefers the post-quantum hybrid KEM, then X25519, each with
// the first of its suites this client can seal with (RFC 9458 section 3
// leaves the choice to the client; ParseKeyConfigs keeps suites it does
// not know).
func pickConfig(b []byte) (ohttp.KeyConfig, ohttp.Suite, error) {
	cfgs, err := ohttp.ParseKeyConfigs(b)
	if err != nil {
		return ohttp.KeyConfig{}, ohttp.Suite{}, fmt.Errorf("client: key configuration: %w", err)
	}
	for _, kem := range []uint16{ohttp.KEMMLKEM768X25519, ohttp.KEMX25519} {
		for _, c := range cfgs {
			if c.KEM != kem {
				continue
			}
			for _, s := range c.Suites {
				if ohttp.SupportedSuite(s) {
					return c, s, nil
				}
			}
		}
	}
	return ohttp.KeyConfig{}, ohttp.Suite{}, errors.New("client: the enclave offers no key configuration this client supports")
}

// Attestation is what the last verification proved.
func (c *Client) Attestation() *attest.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.result
}

func (c *Client) gatewayURL() string {
	if c.opts.RelayURL != "" {
		return c.opts.RelayURL
	}
	return c.opts.URL + "/v1/ohttp"
}

// maxSealedResponse bounds a whole (unchunked) answer: the longest
// message bhttp.ParseResponse takes, behind its response nonce (16 bytes
// for AES-128-GCM, 32 for AES-256-GCM) and before its 16-byte tag.
const maxSealedResponse = bhttp.DefaultMaxTotal + 32 + 16

// errStaleKey is the gateway's answer of RFC 9458 section 5.3: it no
// longer has the key we sealed to.
var errStaleKey = errors.New("client: the enclave no longer has the pinned key")

// maxProblem bounds the body of a gateway's 400 the client reads for its
// problem type: the gateway's is about 100 bytes, and a relay, or
// whatever sits in its place, could send without end.
const maxProblem = 4 << 10

// isKeyProblem reports whether a gateway's answer is RFC 9458 section
// 5.3's: 400, an application/problem+json body, and the ohttp-key type.
// Any other 400 (a malformed message, a relay's own refusal) is not, so
// it is reported as it is, not answered with a verification and a retry
// that would fail the same way.
func isKeyProblem(resp *http.Response) bool {
	if resp.StatusCode != http.StatusBadRequest {
		return false
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != ohttp.MediaTypeProblem {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxProblem+1))
	if err != nil || len(b) > maxProblem {
		return false
	}
	var p struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(b, &p) == nil && p.Type == ohttp.KeyProblemType
}

// ErrKeyExpired is the answer of a client with a relay, and no
// AttestationURL of its own, when the enclave no longer has the pinned
// key, even as a previous one: it rotated its keys longer than its grace
// period ago. Verifying it again directly would show the enclave this
// client's address right beside the request, so the client does not: make
// a new Client (ahead of the next request), or give it an AttestationURL.
var ErrKeyExpired = errors.New("client: the enclave's key has expired, and verifying it again directly would show it this client's address: make a new Client")

// KeyRotatedHeader, in a sealed answer, says the enclave has rotated out
// the key the request was sealed to (runtime/server's KeyRotatedHeader).
const KeyRotatedHeader = "Pith-Key-Rotated"

// RoundTrip seals req, sends it, and returns the opened response. Its body
// streams when the request was sent chunked. After an answer said the
// enclave rotated its keys, the client first verifies it again through the
// gateway. A key the enclave no longer has makes the client verify it
// again (through AttestationURL) and retry once, or with a relay and no
// AttestationURL of its own, return ErrKeyExpired.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	if c.rotated.Load() {
		// An expired key is found again below; any other failure is this
		// request's.
		if _, err := c.Refresh(req.Context()); err != nil && !errors.Is(err, errStaleKey) {
			return nil, err
		}
	}
	resp, err := c.roundTrip(req, body)
	if errors.Is(err, errStaleKey) {
		if c.opts.RelayURL != "" && c.opts.AttestationURL == c.opts.URL {
			return nil, ErrKeyExpired
		}
		if _, verr := c.Verify(req.Context()); verr != nil {
			return nil, verr
		}
		resp, err = c.roundTrip(req, body)
	}
	return resp, err
}

func (c *Client) roundTrip(req *http.Request, body []byte) (*http.Response, error) {
	c.mu.Lock()
	cfg, suite := c.cfg, c.suite
	c.mu.Unlock()
	inner := bhttp.Request{
		Method: req.Method, Scheme: "https", Authority: "pith", Path: req.URL.RequestURI(),
		Header: cleanHeader(req.Header), Body: body,
	}
	plain, err := inner.MarshalKnownLength()
	if err != nil {
		return nil, fmt.Errorf("client: encoding the request: %w", err)
	}
	// Padded, so the request's length shows only its bucket (bhttp.Pad);
	// the enclave pads its answers likewise.
	plain = bhttp.Pad(plain)
	var (
		msg          []byte
		ctype, rtype string               // the request's media type, and its answer's
		cc           *ohttp.ClientContext // opens the answer: whole, or chunk by chunk
	)
	if c.opts.Unchunked {
		msg, cc, err = ohttp.EncapsulateRequest(cfg, suite, plain, rand.Reader)
		ctype, rtype = ohttp.MediaTypeRequest, ohttp.MediaTypeResponse
	} else {
		var buf bytes.Buffer
		var cw *ohttp.ChunkedRequestWriter
		cw, cc, err = ohttp.NewChunkedRequestWriter(cfg, suite, &buf, rand.Reader)
		if err == nil {
			if _, err = cw.Write(plain); err == nil {
				err = cw.Close()
			}
		}
		msg = buf.Bytes()
		ctype, rtype = ohttp.MediaTypeChunkedReq, ohttp.MediaTypeChunkedResp
	}
	if err != nil {
		return nil, fmt.Errorf("client: sealing: %w", err)
	}
	out, err := http.NewRequestWithContext(req.Context(), http.MethodPost, c.gatewayURL(), bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	out.Header.Set("Content-Type", ctype)
	if !c.opts.Unchunked {
		// The chunked draft (section 3) asks for this signal, without
		// which a relay or a load balancer may hold the streamed answer
		// back until it is complete.
		out.Header.Set("Incremental", "?1")
	}
	resp, err := c.opts.HTTP.Do(out)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		if isKeyProblem(resp) {
			return nil, errStaleKey
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			return nil, &BusyError{RetryAfter: resp.Header.Get("Retry-After")}
		}
		return nil, fmt.Errorf("client: gateway: %s", resp.Status)
	}
	// RFC 9458 section 4.4 and the chunked draft's section 3 give a
	// successful answer its media type. Anything else (a captive portal's
	// page, a relay's own 200, a gateway that answered a chunked request
	// whole) would otherwise be opened as ciphertext and reported as a
	// failed decryption or a truncation, which points at tampering.
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != rtype {
		resp.Body.Close()
		return nil, fmt.Errorf("client: gateway answered %s with Content-Type %q, not %s: not an Oblivious HTTP response", resp.Status, resp.Header.Get("Content-Type"), rtype)
	}
	if c.opts.Unchunked {
		defer resp.Body.Close()
		sealed, err := io.ReadAll(io.LimitReader(resp.Body, maxSealedResponse+1))
		if err != nil {
			return nil, err
		}
		if len(sealed) > maxSealedResponse {
			// Cut at the limit, it would fail to open and be reported
			// as a failed decryption, which points at tampering.
			return nil, fmt.Errorf("client: the gateway's answer is longer than %d bytes, the most a whole (unchunked) answer can be", maxSealedResponse)
		}
		plain, err := cc.DecapsulateResponse(sealed)
		if err != nil {
			return nil, fmt.Errorf("client: opening the response: %w", err)
		}
		br, err := bhttp.ParseResponse(plain)
		if err != nil {
			return nil, fmt.Errorf("client: decoding the response: %w", err)
		}
		if err := checkNonce(req, br.Header); err != nil {
			return nil, err
		}
		c.noteRotated(br.Header)
		return httpResponse(req, br.Status, br.Header, io.NopCloser(bytes.NewReader(br.Body))), nil
	}
	dec := bhttp.NewResponseDecoder(ohttp.NewChunkedResponseReader(cc, resp.Body), nil)
	head, err := dec.ReadHeader()
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("client: decoding the response: %w", err)
	}
	if err := checkNonce(req, head.Header); err != nil {
		resp.Body.Close()
		return nil, err
	}
	c.noteRotated(head.Header)
	return httpResponse(req, head.Status, head.Header, &streamBody{dec: dec, outer: resp.Body}), nil
}

// noteRotated remembers an answer's word that the pinned key is a
// previous one. It came inside the seal: a relay cannot forge it.
func (c *Client) noteRotated(h http.Header) {
	if h.Get(KeyRotatedHeader) != "" {
		c.rotated.Store(true)
	}
}

// NonceHeader carries a request's random nonce; the enclave echoes it in
// the sealed answer.
const NonceHeader = "Pith-Nonce"

// errWrongNonce is an answer that is not this request's: its nonce, in the
// inner header or in a summary's body, is not the one sent.
var errWrongNonce = errors.New("client: the answer does not carry this request's nonce")

// checkNonce refuses an answer that does not echo the request's nonce: it
// would be another request's.
func checkNonce(req *http.Request, h http.Header) error {
	if want := req.Header.Get(NonceHeader); want != "" && h.Get(NonceHeader) != want {
		return errWrongNonce
	}
	return nil
}

func httpResponse(req *http.Request, status int, h http.Header, body io.ReadCloser) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: body, ContentLength: -1, Request: req,
	}
}

// streamBody reads the inner body as the chunks arrive; a stream that ends
// without the authenticated final chunk is an error, not a short answer.
type streamBody struct {
	dec   *bhttp.ResponseDecoder
	outer io.ReadCloser
}

func (s *streamBody) Read(p []byte) (int, error) { return s.dec.Read(p) }
func (s *streamBody) Close() error               { return s.outer.Close() }

// sealedFields are the fields of a request that go inside the seal: what
// the enclave reads. Any other (User-Agent, Cookie, Authorization,
// Accept-Language, whatever a local application behind pith proxy sends)
// could let the enclave tell one client from another.
var sealedFields = []string{"Content-Type", "Accept", NonceHeader}

// cleanHeader keeps of a request's fields only sealedFields.
func cleanHeader(h http.Header) http.Header {
	out := http.Header{}
	for _, k := range sealedFields {
		if v := h.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// BusyError is the enclave's 503: its queue is full.
type BusyError struct{ RetryAfter string }

func (e *BusyError) Error() string {
	return "client: the enclave is busy (retry after " + e.RetryAfter + "s)"
}

// Message is one message of a conversation to summarise.
type Message struct {
	From string `json:"from"`
	Text string `json:"text"`
}

// Summary is the enclave's answer to a summarise request.
type Summary struct {
	Summary         string        `json:"summary"`
	Nonce           string        `json:"nonce,omitempty"`
	PromptEvalCount int           `json:"prompt_eval_count,omitempty"`
	EvalCount       int           `json:"eval_count,omitempty"`
	TotalDuration   time.Duration `json:"total_duration,omitempty"`
}

// Summarize asks the enclave for a summary of at most maxWords words (0 for
// the server's default). The request carries a random nonce that the answer
// must echo, so an answer can never be another request's.
func (c *Client) Summarize(ctx context.Context, msgs []Message, maxWords int) (*Summary, error) {
	body, err := json.Marshal(map[string]any{"messages": msgs, "max_words": maxWords})
	if err != nil {
		return nil, err
	}
	nb := make([]byte, 16)
	rand.Read(nb)
	nonce := hex.EncodeToString(nb)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://pith/v1/summarize", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(NonceHeader, nonce)
	resp, err := c.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("client: reading the summary: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, fmt.Errorf("enclave: %s", e.Error)
		}
		return nil, fmt.Errorf("enclave: %s", resp.Status)
	}
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("client: the summary is not valid JSON: %w", err)
	}
	if s.Nonce != nonce {
		return nil, errWrongNonce
	}
	return &s, nil
}

// HTTPClient is an http.Client whose requests all go sealed to the enclave;
// the URL's host is ignored (only its path and query are sent, sealed).
func (c *Client) HTTPClient() *http.Client { return &http.Client{Transport: c} }

// BaseURL is a placeholder host for HTTPClient's requests, for libraries
// that want a URL (ollama's api.NewClient).
var BaseURL = &url.URL{Scheme: "http", Host: "pith.enclave"}
