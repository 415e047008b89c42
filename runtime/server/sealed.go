package server

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pith-project/pith/attest"
	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/ohttp"
)

// Media types of RFC 9458, RFC 9540 and draft-ietf-ohai-chunked-ohttp.
const (
	mediaKeys       = ohttp.MediaTypeKeys
	mediaReq        = ohttp.MediaTypeRequest
	mediaRes        = ohttp.MediaTypeResponse
	mediaChunkedReq = ohttp.MediaTypeChunkedReq
	mediaChunkedRes = ohttp.MediaTypeChunkedResp
)

// Handler serves everything a client reaches: the attestation, the key
// configuration, the OHTTP gateway and a health check. With plaintext, the
// unsealed Ollama API is added (development and benchmarks on loopback; the
// caller refuses it elsewhere).
func (s *Server) Handler(plaintext bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/attestation", s.queued(s.handleAttestation))
	mux.HandleFunc("GET /.well-known/ohttp-gateway", s.handleKeyConfig)
	mux.HandleFunc("POST /v1/ohttp", s.queued(s.handleOHTTP))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	if plaintext {
		p := s.PlaintextHandler()
		mux.Handle("/api/", p)
		mux.Handle("POST /v1/summarize", p)
	}
	return s.writeDeadlines(mux)
}

// writeDeadlines gives the client WriteTimeout to take each write of an
// answer, from the start of the request on. net/http's own WriteTimeout
// would bound the whole answer instead, which a generation may rightly
// take minutes over; without any deadline a write to a client that has
// stopped reading blocks for good, and the request never ends. The last
// deadline stays set after the handler returns, so net/http's final
// flush is bounded too; the next request on the connection sets its own
// at its start.
//
// It also bounds the read net/http makes after a handler that answered
// without reading the request's body to its end (the health check, a
// refusal): to keep the connection, net/http reads up to 256 KiB of the
// rest before it sends the answer, with no deadline (the server has no
// ReadTimeout, which would also bound the body of a generation), so a
// client that declares a body and never sends it would hold its
// connection, one of MaxConns, for good. Given BodyTimeout, as readBody
// gives a body, the read fails and net/http closes the connection after
// the answer.
//
// Only then: once the body has been read to its end (or at once, when
// there is none), net/http keeps a read waiting on the connection while it
// flushes the answer's last bytes, and a deadline set on it after the
// handler would fire there, when the client is slower than BodyTimeout to
// take those bytes: net/http would cancel the connection's context, which
// every later request on it inherits, and go on serving them. (A read
// net/http starts later, at the end of a body it reads itself, clears the
// deadline.)
func (s *Server) writeDeadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.cfg.Limits.WriteTimeout}
		dw.arm()
		var body *eofBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &eofBody{ReadCloser: r.Body}
			r.Body = body
		}
		h.ServeHTTP(dw, r)
		if body != nil && !body.eof {
			_ = dw.rc.SetReadDeadline(time.Now().Add(s.cfg.Limits.BodyTimeout))
		}
	})
}

// eofBody notes whether a request's body was read to its end.
type eofBody struct {
	io.ReadCloser
	eof bool
}

func (b *eofBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// deadlineWriter sets the connection's write deadline before each write
// and flush. It unwraps for http.ResponseController (read deadlines,
// flushes).
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// arm sets the deadline; a writer without deadlines (httptest's) writes
// without one.
func (d *deadlineWriter) arm() { _ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout)) }

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.arm()
	return d.ResponseWriter.Write(p)
}

func (d *deadlineWriter) FlushError() error {
	d.arm()
	return d.rc.Flush()
}

func (d *deadlineWriter) Flush() { _ = d.FlushError() }

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func (s *Server) handleKeyConfig(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", mediaKeys)
	w.Header().Set("Cache-Control", "max-age=60")
	w.Write(s.keys.config())
}

// handleAttestation answers GET /v1/attestation?nonce=<64 hex> with the
// attestation document that binds the nonce and the current key configuration.
func (s *Server) handleAttestation(w http.ResponseWriter, r *http.Request) {
	nonce, err := hex.DecodeString(r.URL.Query().Get("nonce"))
	if err != nil || len(nonce) != attest.NonceSize {
		http.Error(w, "nonce must be 64 hex digits", http.StatusBadRequest)
		return
	}
	// The document holds no secret, but its JSON encoding runs inside
	// wipe.Do like every other in this process: encoding/json reuses its
	// buffers, and one made here would later hold a request's reply.
	s.scope(func() {
		doc, err := attest.NewDocument(r.Context(), s.cfg.Attest, nonce, s.keys.config(), s.cfg.Manifest)
		if err != nil {
			s.log.Error("attestation failed", "err", err)
			http.Error(w, "attestation failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(doc)
	})
}

// handleOHTTP is the gateway. Outer errors carry no detail: a malformed or
// undecryptable message is 400, an unknown key 400 with RFC 9458 section
// 5.3's problem (so a client verifies the enclave again for its keys),
// overload 503; everything about the request itself is inside the sealed
// response.
func (s *Server) handleOHTTP(w http.ResponseWriter, r *http.Request) {
	// Media types are case-insensitive and may carry parameters (RFC 9110
	// section 8.3.1); a proxy between the client and the enclave may
	// rewrite either.
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != mediaReq && ct != mediaChunkedReq {
		http.Error(w, "content type must be "+mediaReq+" or "+mediaChunkedReq, http.StatusUnsupportedMediaType)
		return
	}
	// The body is ciphertext: holding it on the heap reveals nothing.
	var body []byte
	err = s.readBody(w, r, s.maxSealed()+4096, func(rd io.Reader) (err error) {
		body, err = io.ReadAll(rd)
		return err
	})
	if err != nil {
		status := http.StatusBadRequest
		if ae := (*apiError)(nil); errors.As(err, &ae) {
			status = ae.status
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	s.scope(func() {
		// A chunked answer cut by a panic ends without its authenticated
		// final chunk: the client reports it truncated.
		sw := &sentWriter{ResponseWriter: w}
		defer s.recoverPanic(sw)
		if ct == mediaReq {
			s.sealed(sw, r, body)
		} else {
			s.sealedChunked(sw, r, body)
		}
	})
	s.requests.Add(1)
}

// keyProblem is the whole answer body to a request sealed to an unknown
// key, as RFC 9458 section 5.3's example has it.
const keyProblem = `{"type":"` + ohttp.KeyProblemType + `","title":"key identifier unknown"}`

// maxSealed bounds the BHTTP message a sealed request carries, padding
// included: a body of MaxBody bytes with up to 4 KiB of framing and
// fields, padded as clients pad (bhttp.Pad). The body itself is held to
// MaxBody by the API handler that reads it, with a clear 413; bounding
// the padded message at MaxBody instead refused bodies near the limit,
// and with any MaxBody that is not a padding bucket, many more.
func (s *Server) maxSealed() int64 {
	return int64(bhttp.PadLen(int(s.cfg.Limits.MaxBody) + 4096))
}

func gatewayError(w http.ResponseWriter, err error) {
	if errors.Is(err, ohttp.ErrUnknownKey) {
		h := w.Header()
		h.Set("Content-Type", ohttp.MediaTypeProblem)
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, keyProblem)
		return
	}
	http.Error(w, "invalid request", http.StatusBadRequest)
}

// innerRequest turns a decapsulated BHTTP request into the http.Request the
// API handler serves, tied to the outer request's context so a client that
// goes away cancels its generation.
func innerRequest(r *http.Request, plain []byte) (*http.Request, error) {
	br, err := bhttp.ParseRequest(plain)
	if err != nil {
		return nil, err
	}
	path := br.Path
	if path == "" || path[0] != '/' {
		return nil, errors.New("inner request path must be absolute")
	}
	// A path that starts with "//" would be parsed as an authority, whose
	// errors net/url makes with fmt from the request's bytes (see
	// checkModel on fmt's pooled printers); no inner endpoint has one.
	if strings.HasPrefix(path, "//") {
		return nil, errors.New("inner request path must not start with //")
	}
	in, err := http.NewRequestWithContext(r.Context(), br.Method, path, bytes.NewReader(br.Body))
	if err != nil {
		return nil, err
	}
	if br.Header != nil {
		in.Header = br.Header
	}
	in.Host = br.Authority
	in.ContentLength = int64(len(br.Body))
	return in, nil
}

func (s *Server) sealed(w http.ResponseWriter, r *http.Request, body []byte) {
	plain, rc, err := s.keys.gateway().DecapsulateRequest(body)
	if err != nil {
		gatewayError(w, err)
		return
	}
	in, err := innerRequest(r, plain)
	var rw bufferedResponse
	s.noteRotated(&rw, body)
	if err != nil {
		writeError(&rw, http.StatusBadRequest, errors.New("the sealed message is not a valid binary HTTP request"))
	} else {
		echoNonce(&rw, in)
		s.api.ServeHTTP(&rw, in)
	}
	resp := bhttp.Response{Status: rw.statusCode(), Header: rw.header, Body: rw.body.Bytes()}
	inner, err := resp.MarshalKnownLength()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// Padded, so the answer's length shows only its bucket (bhttp.Pad).
	sealed, err := rc.EncapsulateResponse(bhttp.Pad(inner))
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaRes)
	w.Header().Set("Content-Length", strconv.Itoa(len(sealed)))
	w.Write(sealed)
}

// innerHead is the status and header of an inner response, as the API
// handler sets them.
type innerHead struct {
	header http.Header
	status int
}

func (h *innerHead) Header() http.Header {
	if h.header == nil {
		h.header = http.Header{}
	}
	return h.header
}

func (h *innerHead) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *innerHead) statusCode() int {
	if h.status == 0 {
		return http.StatusOK
	}
	return h.status
}

// NonceHeader is an inner request header the server copies into its inner
// response, so a client can check that an answer is its own request's.
const NonceHeader = "Pith-Nonce"

func echoNonce(w http.ResponseWriter, r *http.Request) {
	if n := r.Header.Get(NonceHeader); n != "" && len(n) <= 128 {
		w.Header().Set(NonceHeader, n)
	}
}

// bufferedResponse collects an inner response to seal it whole.
type bufferedResponse struct {
	innerHead
	body bytes.Buffer
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

// sealedChunked answers a chunked OHTTP request with a chunked response:
// an indeterminate-length BHTTP response whose pieces are sealed and sent
// as the API handler flushes them, ending with the authenticated final
// chunk, so a client detects a stream cut short.
func (s *Server) sealedChunked(w http.ResponseWriter, r *http.Request, body []byte) {
	cr, rc, err := s.keys.gateway().NewChunkedRequestReader(bytes.NewReader(body))
	if err != nil {
		gatewayError(w, err)
		return
	}
	plain, err := io.ReadAll(io.LimitReader(cr, s.maxSealed()+1))
	if err != nil || int64(len(plain)) > s.maxSealed() {
		gatewayError(w, err)
		return
	}
	w.Header().Set("Content-Type", mediaChunkedRes)
	w.WriteHeader(http.StatusOK)
	sw, err := newStreamResponse(w, rc)
	if err != nil {
		return
	}
	s.noteRotated(sw, body)
	in, err := innerRequest(r, plain)
	if err != nil {
		writeError(sw, http.StatusBadRequest, errors.New("the sealed message is not a valid binary HTTP request"))
	} else {
		echoNonce(sw, in)
		s.api.ServeHTTP(sw, in)
	}
	sw.finish()
}

// KeyRotatedHeader, in a sealed answer, says that the request was sealed
// to a key the enclave has rotated out and keeps only for its grace
// period. A client then verifies the enclave again through the gateway
// (GET /v1/attestation, sealed to the old key and sent the way its
// requests go, through a relay if it has one) before the key is gone: a
// fetch of its own would show the enclave the client's address, right
// beside a request.
const KeyRotatedHeader = "Pith-Key-Rotated"

// noteRotated marks the inner answer to msg, an OHTTP request that
// opened (its first byte is the key id, chunked or not), when its key is
// a previous one.
func (s *Server) noteRotated(w http.ResponseWriter, msg []byte) {
	if len(msg) > 0 && !s.keys.isCurrent(msg[0]) {
		w.Header().Set(KeyRotatedHeader, "1")
	}
}

// flushWriter is the client's connection under a chunked answer: ohttp
// flushes each sealed chunk through Flush, which reports a failed flush
// (http.Flusher's would drop it).
type flushWriter struct{ w http.ResponseWriter }

func (f flushWriter) Write(p []byte) (int, error) { return f.w.Write(p) }

func (f flushWriter) Flush() error { return flush(f.w) }

// streamResponse is the inner ResponseWriter of a streamed answer: the
// BHTTP head goes out with the first write, and every Flush seals what was
// written since as one chunk (several beyond ohttp.SendChunk bytes), padded
// when it is JSON (padJSON). Once a chunk could not be sent, every Write
// and FlushError reports why, so the handler's next piece fails and its
// generation stops there.
type streamResponse struct {
	innerHead
	cw      *ohttp.ChunkedResponseWriter
	enc     *bhttp.ResponseEncoder
	started bool
	json    jsonKind // of the answer's Content-Type, known once started
	pending bytes.Buffer
	err     error
}

// newStreamResponse starts the chunked answer, sealed under rc, to w.
func newStreamResponse(w http.ResponseWriter, rc *ohttp.ResponseContext) (*streamResponse, error) {
	cw, err := ohttp.NewChunkedResponseWriter(rc, flushWriter{w})
	if err != nil {
		return nil, err
	}
	return &streamResponse{cw: cw, enc: bhttp.NewResponseEncoder(cw)}, nil
}

func (s *streamResponse) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.WriteHeader(http.StatusOK)
	return s.pending.Write(p)
}

// FlushError seals and sends what was written since the last flush
// (http.ResponseController calls it).
func (s *streamResponse) FlushError() error { return s.flush(false) }

// flush sends what was written since the last flush; end says the
// answer's content is complete.
func (s *streamResponse) flush(end bool) error {
	if s.err != nil {
		return s.err
	}
	s.WriteHeader(http.StatusOK)
	if !s.started {
		s.started = true
		s.json = jsonKindOf(s.header.Get("Content-Type"))
		s.err = s.enc.WriteHeader(s.statusCode(), s.header)
	}
	if s.err == nil && s.pending.Len() > 0 {
		padJSON(&s.pending, s.json, end)
		_, s.err = s.enc.Write(s.pending.Bytes())
		s.pending.Reset()
	}
	return s.err
}

func (s *streamResponse) Flush() { _ = s.FlushError() }

// finish sends the rest and the authenticated final chunk; after a failed
// write it sends nothing more, so the client sees a truncated answer.
func (s *streamResponse) finish() error {
	if s.flush(true) == nil {
		s.err = s.enc.Close()
	}
	if s.err == nil {
		s.err = s.cw.Close()
	}
	return s.err
}

// jsonKind is how an answer's content may be padded.
type jsonKind int

const (
	notJSON   jsonKind = iota
	jsonValue          // one JSON value (application/json)
	jsonLines          // one JSON value per line (application/x-ndjson)
)

func jsonKindOf(contentType string) jsonKind {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch mt {
	case "application/json":
		return jsonValue
	case "application/x-ndjson":
		return jsonLines
	}
	return notJSON
}

// padJSON pads a piece of a streamed JSON answer with spaces, which JSON
// allows after any value, to bhttp.PadLen of its length. Each streamed
// line is one sealed chunk whose length would otherwise be its token's
// (see bhttp.Pad for why that matters); BHTTP's own padding comes only
// after a whole message, too late for a stream. A piece is padded where
// a value ends: a line of NDJSON when it is whole, a JSON value at the
// end of the content; any other piece is sent as it is. The spaces go
// before a final newline, since a line of spaces alone is not JSON to a
// line-by-line reader (Ollama's clients read both kinds that way).
func padJSON(b *bytes.Buffer, kind jsonKind, end bool) {
	n := b.Len()
	if n == 0 {
		return
	}
	newline := b.Bytes()[n-1] == '\n'
	if kind == notJSON || kind == jsonLines && !newline || kind == jsonValue && !end {
		return
	}
	pad := bhttp.PadLen(n) - n
	if newline {
		b.Truncate(n - 1)
	}
	writeSpaces(b, pad)
	if newline {
		b.WriteByte('\n')
	}
}

func writeSpaces(b *bytes.Buffer, n int) {
	b.Grow(n)
	for range n {
		b.WriteByte(' ')
	}
}
