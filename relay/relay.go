// Package relay is an Oblivious HTTP relay (RFC 9458 section 2) in front
// of a pith enclave, for a party other than the enclave's operator to run.
//
// The relay sees who asks and never what: the requests it passes on are
// sealed to a key only the attested enclave holds. The enclave sees what is
// asked and never who: the relay passes on no address and none of the
// client's header fields, only the body and its media type, so nothing but
// the sealed content reaches the enclave (RFC 9458 section 6.1 on the
// fields a relay must drop). Collusion of the two is outside the model, as
// for every OHTTP deployment.
//
// Besides the sealed requests (POST /v1/ohttp), the relay passes on the
// two unsealed GETs a client needs before it can seal anything: the
// attestation (GET /v1/attestation?nonce=...) and the key configuration
// (GET /.well-known/ohttp-gateway). Both prove themselves to the client
// (the vendor's signature over a report binding the client's nonce and the
// key configuration), so the relay need not be trusted with them, and the
// client, pointed at the relay for them (client.Options.AttestationURL),
// never shows the enclave its address. Everything else is refused.
//
// Of the enclave's answer, only the final status, the body and three
// fields (Content-Type, Cache-Control, Retry-After) reach the client: no
// cookies, no informational (1xx) answers, no trailers, since the
// connection to the enclave runs over the untrusted host's network.
//
// It logs one line a request (method, path, status, duration), never an
// address or a byte of content.
package relay

import (
	"encoding/hex"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/ohttp"
)

// Paths the relay passes on, as the enclave serves them.
const (
	GatewayPath     = "/v1/ohttp"
	AttestationPath = "/v1/attestation"
	KeysPath        = "/.well-known/ohttp-gateway"
)

// DefaultMaxBody bounds a sealed request's body: the enclave's own limit
// (runtime/server's Limits.MaxBody, 1 MiB, with its framing, padded to
// 1 MiB + 64 KiB as clients pad) plus room for the encapsulation.
const DefaultMaxBody = 1<<20 + 128<<10

// userAgent is the one User-Agent the enclave sees from a relay, whoever
// the client: a client's own would tell the enclave about it.
const userAgent = "pith-relay"

// Options configure a relay.
type Options struct {
	// Gateway is the enclave's base URL (the --url its clients verify).
	Gateway *url.URL
	// MaxBody bounds a sealed request's body (default DefaultMaxBody);
	// a longer one is refused with 413 before anything is sent on.
	MaxBody int64
	// Transport carries the requests to the enclave (default
	// http.DefaultTransport).
	Transport http.RoundTripper
	// Logger gets a line a request (default: slog.Default()).
	Logger *slog.Logger
}

// New returns the relay's handler.
func New(opts Options) (http.Handler, error) {
	g := opts.Gateway
	if g == nil || (g.Scheme != "http" && g.Scheme != "https") || g.Host == "" {
		return nil, errors.New("relay: the gateway must be an http or https URL with a host")
	}
	if g.RawQuery != "" || g.Fragment != "" || g.User != nil {
		return nil, errors.New("relay: the gateway URL must have no query, fragment or user")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	h := &handler{opts: opts}
	h.proxy = &httputil.ReverseProxy{
		Rewrite:       h.rewrite,
		Transport:     opts.Transport,
		FlushInterval: -1, // chunked OHTTP answers stream, chunk by chunk
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
				refuse(w, http.StatusRequestEntityTooLarge, "", "relay: the request is longer than "+strconv.FormatInt(opts.MaxBody, 10)+" bytes")
				return
			}
			// Not the error's text: it names the enclave's address and
			// the transport's state, which are not the client's business.
			opts.Logger.Warn("relay: the enclave did not answer", "path", r.URL.Path, "err", err)
			http.Error(w, "relay: the enclave did not answer", http.StatusBadGateway)
		},
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return h, nil
}

type handler struct {
	opts  Options
	proxy *httputil.ReverseProxy
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusWriter{ResponseWriter: w}
	// Deferred: a stream the client abandons ends in ReverseProxy's
	// panic(http.ErrAbortHandler), and it gets its line too.
	defer func() {
		path := r.URL.Path
		if path != GatewayPath && path != AttestationPath && path != KeysPath {
			path = "(other)" // the client's own words, not logged
		}
		h.opts.Logger.Info("relay", "method", r.Method, "path", path, "status", rec.code, "duration", time.Since(start).Round(time.Millisecond))
	}()
	h.serve(rec, r)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case GatewayPath:
		if r.Method != http.MethodPost {
			refuse(w, http.StatusMethodNotAllowed, http.MethodPost, "relay: "+GatewayPath+" takes POST")
			return
		}
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != ohttp.MediaTypeRequest && mt != ohttp.MediaTypeChunkedReq {
			refuse(w, http.StatusUnsupportedMediaType, "", "relay: a sealed request is "+ohttp.MediaTypeRequest+" or "+ohttp.MediaTypeChunkedReq)
			return
		}
		if r.ContentLength > h.opts.MaxBody {
			refuse(w, http.StatusRequestEntityTooLarge, "", "relay: the request is longer than "+strconv.FormatInt(h.opts.MaxBody, 10)+" bytes")
			return
		}
		// A body of unknown length is cut at the limit as it streams; the
		// enclave then sees a truncated message and refuses it.
		r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBody)
	case AttestationPath:
		if r.Method != http.MethodGet {
			refuse(w, http.StatusMethodNotAllowed, http.MethodGet, "relay: "+AttestationPath+" takes GET")
			return
		}
		if n := r.URL.Query().Get("nonce"); len(n) != 64 || !isHex(n) {
			refuse(w, http.StatusBadRequest, "", "relay: "+AttestationPath+" wants ?nonce= and 64 hex digits")
			return
		}
	case KeysPath:
		if r.Method != http.MethodGet {
			refuse(w, http.StatusMethodNotAllowed, http.MethodGet, "relay: "+KeysPath+" takes GET")
			return
		}
	default:
		refuse(w, http.StatusNotFound, "", "relay: only POST "+GatewayPath+", GET "+AttestationPath+" and GET "+KeysPath+" are passed on")
		return
	}
	h.proxy.ServeHTTP(&answerWriter{w: w, staged: http.Header{}}, r)
}

// rewrite makes the request the enclave sees: the gateway's URL and the
// path as the relay spells it (not the client's encoding of it), for the
// attestation the nonce alone, for a sealed request the body and its media
// type without parameters, and none of the client's fields.
// httputil.ReverseProxy has already dropped any Forwarded and
// X-Forwarded-* fields, and adds none with Rewrite.
func (h *handler) rewrite(pr *httputil.ProxyRequest) {
	pr.SetURL(h.opts.Gateway)
	pr.Out.URL.Path = strings.TrimSuffix(h.opts.Gateway.Path, "/") + pr.In.URL.Path
	pr.Out.URL.RawPath = ""
	pr.Out.URL.RawQuery = ""
	if pr.In.URL.Path == AttestationPath {
		pr.Out.URL.RawQuery = url.Values{"nonce": {pr.In.URL.Query().Get("nonce")}}.Encode()
	}
	pr.Out.Header = http.Header{"User-Agent": {userAgent}}
	if pr.In.Method == http.MethodPost {
		mt, _, _ := mime.ParseMediaType(pr.In.Header.Get("Content-Type"))
		pr.Out.Header.Set("Content-Type", mt)
		if mt == ohttp.MediaTypeChunkedReq {
			pr.Out.Header.Set(incremental, "?1")
		}
	} else {
		// A GET's body is the client's, and nothing the enclave reads.
		pr.Out.Body, pr.Out.ContentLength, pr.Out.TransferEncoding = nil, 0, nil
	}
	pr.Out.Trailer = nil
}

// incremental is the field draft-ietf-ohai-chunked-ohttp section 3 has
// chunked requests and answers carry (as "?1"), without which an
// intermediary (a load balancer before the enclave, a proxy before the
// client) may hold a message back until it is complete. The relay passes
// on no field of either side, so it sets this one itself, from the media
// type alone: it tells nothing about the client or the enclave.
const incremental = "Incremental"

// keptFields are the fields of the enclave's answer that reach the client:
// what the body is, whether it may be cached, and when to come back after
// a 503. Others (cookies above all) could let the enclave recognise a
// client on its next request.
var keptFields = []string{"Content-Type", "Cache-Control", "Retry-After"}

// answerWriter is what ReverseProxy writes the enclave's answer to: only
// the final status and its keptFields reach the client. Informational
// (1xx) answers, which ReverseProxy passes on as they come, and trailers,
// which it sets in the header map after the body, would otherwise carry
// any field the enclave's side of the connection likes, and that side is
// the untrusted host's network.
type answerWriter struct {
	w      http.ResponseWriter
	staged http.Header // what ReverseProxy sets; copied in part at WriteHeader
	sent   bool
}

func (a *answerWriter) Header() http.Header {
	if a.sent {
		return http.Header{} // trailers, dropped
	}
	return a.staged
}

func (a *answerWriter) WriteHeader(code int) {
	if a.sent {
		return
	}
	if code < 200 {
		clear(a.staged)
		return
	}
	a.sent = true
	h := a.w.Header()
	for _, k := range keptFields {
		if v := a.staged.Values(k); len(v) > 0 {
			h[k] = v
		}
	}
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == ohttp.MediaTypeChunkedResp {
		h.Set(incremental, "?1")
	}
	a.w.WriteHeader(code)
}

func (a *answerWriter) Write(p []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.w.Write(p)
}

// Unwrap lets ReverseProxy flush each chunk of a streamed answer through
// http.ResponseController.
func (a *answerWriter) Unwrap() http.ResponseWriter { return a.w }

func refuse(w http.ResponseWriter, status int, allow, msg string) {
	if allow != "" {
		w.Header().Set("Allow", allow)
	}
	http.Error(w, msg, status)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// statusWriter notes the status a handler sent, for the log line, and
// passes Flush on so that answers still stream.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
