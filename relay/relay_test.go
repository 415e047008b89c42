package relay

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pith-project/pith/ohttp"
)

// seen is what the enclave's side of a relay received.
type seen struct {
	mu     sync.Mutex
	method string
	uri    string
	header http.Header
	body   []byte
	remote string
	n      int
}

// enclaveStub records each request and answers with fields a relay must
// not pass on beside the ones it must.
func enclaveStub(t *testing.T, s *seen) *httptest.Server {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.method, s.uri, s.header, s.body, s.remote = r.Method, r.URL.RequestURI(), r.Header.Clone(), b, r.RemoteAddr
		s.n++
		s.mu.Unlock()
		// An early hint and trailers, announced and not, all carrying
		// fields a client could be recognised by.
		w.Header().Set("Set-Cookie", "early=enclave-knows-you")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Set-Cookie")
		w.Header().Set("Trailer", "X-Tag")
		w.Header().Set("Content-Type", ohttp.MediaTypeResponse)
		w.Header().Set("Retry-After", "3")
		w.Header().Set("Set-Cookie", "id=enclave-knows-you")
		w.Header().Set("Server", "pith")
		w.Write([]byte("sealed answer"))
		w.Header().Set("X-Tag", "enclave-knows-you")
		w.Header().Set(http.TrailerPrefix+"X-Late", "enclave-knows-you")
	}))
	t.Cleanup(hs.Close)
	return hs
}

func newRelay(t *testing.T, gateway string, maxBody int64) *httptest.Server {
	u, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Gateway: u, MaxBody: maxBody, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// send makes a request of the relay with a body of media type ctype ("":
// none) and the extra fields h, and returns the answer; informational
// answers' fields, if any, go to early.
func send(t *testing.T, method, u, ctype string, body io.Reader, h map[string]string, early ...*http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(early) > 0 {
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
				for k, v := range h {
					(*early[0])[k] = append((*early[0])[k], v...)
				}
				return nil
			},
		}))
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// The enclave sees the body, its media type and the path, and nothing of
// the client: none of its fields, no forwarding fields naming it; the
// client sees the answer without the enclave's cookies.
func TestRelayPassesOnNothingOfTheClient(t *testing.T) {
	var s seen
	enclave := enclaveStub(t, &s)
	relay := newRelay(t, enclave.URL, 0)
	nonce := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name, method, path, ctype, body, wantURI, wantCtype, wantBody string
	}{
		{"sealed", http.MethodPost, GatewayPath, ohttp.MediaTypeRequest, "ciphertext", GatewayPath, ohttp.MediaTypeRequest, "ciphertext"},
		{"chunked", http.MethodPost, GatewayPath, ohttp.MediaTypeChunkedReq, "chunks", GatewayPath, ohttp.MediaTypeChunkedReq, "chunks"},
		{"media type parameters", http.MethodPost, GatewayPath, "Message/OHTTP-req ; client=42", "x", GatewayPath, ohttp.MediaTypeRequest, "x"},
		{"the client's encoding of the path", http.MethodPost, "/v1/oh%74tp", ohttp.MediaTypeRequest, "x", GatewayPath, ohttp.MediaTypeRequest, "x"},
		{"attestation", http.MethodGet, AttestationPath + "?nonce=" + nonce + "&who=me", "", "", AttestationPath + "?nonce=" + nonce, "", ""},
		{"attestation with a body", http.MethodGet, AttestationPath + "?nonce=" + nonce, "text/plain; who=client-42", "client-42", AttestationPath + "?nonce=" + nonce, "", ""},
		{"keys", http.MethodGet, KeysPath + "?who=me", "", "", KeysPath, "", ""},
		{"keys with a body", http.MethodGet, "/.well-known/%6fhttp-gateway", "text/plain", "client-42", KeysPath, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			early := http.Header{}
			resp := send(t, tc.method, relay.URL+tc.path, tc.ctype, strings.NewReader(tc.body), map[string]string{
				"User-Agent": "client-version-7", "Cookie": "session=client", "X-Forwarded-For": "198.51.100.7",
				"Forwarded": "for=198.51.100.7", "Accept-Language": "fr-CH", "Authorization": "Bearer client",
			}, &early)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(b) != "sealed answer" {
				t.Fatalf("answer %d %q", resp.StatusCode, b)
			}
			if resp.Header.Get("Set-Cookie") != "" || resp.Header.Get("Server") != "" || resp.Header.Get("Trailer") != "" {
				t.Errorf("the enclave's own fields reached the client: %v", resp.Header)
			}
			if len(early) > 0 || len(resp.Trailer) > 0 {
				t.Errorf("the enclave's early hints %v or trailers %v reached the client", early, resp.Trailer)
			}
			if resp.Header.Get("Retry-After") != "3" || resp.Header.Get("Content-Type") != ohttp.MediaTypeResponse {
				t.Errorf("fields the client reads were dropped: %v", resp.Header)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.method != tc.method || s.uri != tc.wantURI || string(s.body) != tc.wantBody {
				t.Errorf("enclave got %s %s %q, want %s %s %q", s.method, s.uri, s.body, tc.method, tc.wantURI, tc.wantBody)
			}
			// Of the fields, the enclave sees only the relay's own, Go's
			// transport's, and a sealed body's media type and length.
			want := map[string]string{"User-Agent": userAgent, "Accept-Encoding": "gzip", "Content-Type": tc.wantCtype}
			if tc.wantCtype == ohttp.MediaTypeChunkedReq {
				want[incremental] = "?1" // the relay's own, from the media type
			}
			for k := range s.header {
				if w, ok := want[k]; k != "Content-Length" && (!ok || s.header.Get(k) != w) {
					t.Errorf("the enclave saw the field %s: %q", k, s.header.Values(k))
				}
			}
			if len(tc.wantBody) == 0 && (s.header.Get("Content-Length") != "" || len(s.header.Values("Transfer-Encoding")) > 0) {
				t.Errorf("the enclave was sent a body's framing for a GET: %v", s.header)
			}
			for _, v := range []string{"198.51.100.7", "client"} {
				for k, vs := range s.header {
					if strings.Contains(strings.Join(vs, " "), v) {
						t.Errorf("the enclave saw %q in %s", v, k)
					}
				}
			}
		})
	}
}

// What the relay does not pass on is refused before the enclave is asked.
func TestRelayRefuses(t *testing.T) {
	var s seen
	enclave := enclaveStub(t, &s)
	relay := newRelay(t, enclave.URL, 100)
	for _, tc := range []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"other path", http.MethodGet, "/api/tags", "", "", http.StatusNotFound},
		{"plaintext api", http.MethodPost, "/api/generate", "application/json", "{}", http.StatusNotFound},
		{"GET gateway", http.MethodGet, GatewayPath, "", "", http.StatusMethodNotAllowed},
		{"POST attestation", http.MethodPost, AttestationPath, ohttp.MediaTypeRequest, "x", http.StatusMethodNotAllowed},
		{"POST keys", http.MethodPost, KeysPath, ohttp.MediaTypeRequest, "x", http.StatusMethodNotAllowed},
		{"json to gateway", http.MethodPost, GatewayPath, "application/json", "{}", http.StatusUnsupportedMediaType},
		{"no type", http.MethodPost, GatewayPath, "", "x", http.StatusUnsupportedMediaType},
		{"too long", http.MethodPost, GatewayPath, ohttp.MediaTypeRequest, strings.Repeat("x", 101), http.StatusRequestEntityTooLarge},
		{"no nonce", http.MethodGet, AttestationPath, "", "", http.StatusBadRequest},
		{"short nonce", http.MethodGet, AttestationPath + "?nonce=abcd", "", "", http.StatusBadRequest},
		{"not hex", http.MethodGet, AttestationPath + "?nonce=" + strings.Repeat("zz", 32), "", "", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(t, tc.method, relay.URL+tc.path, tc.ctype, strings.NewReader(tc.body), nil)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	s.mu.Lock()
	if s.n != 0 {
		t.Errorf("the enclave was asked %d times, want none", s.n)
	}
	s.mu.Unlock()
	// A body of unknown length is cut at the limit as it streams: the
	// enclave, asked before the end was known, gets no more than that.
	pr, pw := io.Pipe()
	go func() {
		pw.Write(bytes.Repeat([]byte("x"), 200))
		pw.Close()
	}()
	resp := send(t, http.MethodPost, relay.URL+GatewayPath, ohttp.MediaTypeChunkedReq, pr, nil)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("streamed body over the limit: status %d, want 413", resp.StatusCode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.body) > 100 {
		t.Errorf("the enclave got %d bytes of a body cut at 100", len(s.body))
	}
}

// A chunked OHTTP answer reaches the client chunk by chunk, not when the
// enclave has finished: the enclave waits for the client to have read its
// first chunk before it sends the second.
func TestRelayStreams(t *testing.T) {
	got := make(chan struct{})
	enclave := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ohttp.MediaTypeChunkedResp)
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			return // the test fails below: the first chunk never came
		}
		io.WriteString(w, "second\n")
	}))
	defer enclave.Close()
	relay := newRelay(t, enclave.URL, 0)
	resp := send(t, http.MethodPost, relay.URL+GatewayPath, ohttp.MediaTypeChunkedReq, strings.NewReader("sealed"), nil)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	close(got)
	if line, err = br.ReadString('\n'); err != nil || line != "second\n" {
		t.Fatalf("second chunk %q, %v", line, err)
	}
}

func TestNewRefusesGateway(t *testing.T) {
	for _, g := range []string{"", "ftp://host", "http://", "https://host/?q=1", "https://user@host", "/v1/ohttp"} {
		u, _ := url.Parse(g)
		if _, err := New(Options{Gateway: u}); err == nil {
			t.Errorf("gateway %q accepted", g)
		}
	}
	if _, err := New(Options{}); err == nil {
		t.Error("no gateway accepted")
	}
}

// lockedBuffer is a log destination the handler's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A stream the client abandons still gets its log line (ReverseProxy
// ends it with a panic), with the final status.
func TestRelayLogsAbandonedStream(t *testing.T) {
	enclave := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", ohttp.MediaTypeChunkedResp)
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		for r.Context().Err() == nil {
			io.WriteString(w, "more\n")
			w.(http.Flusher).Flush()
			time.Sleep(time.Millisecond)
		}
	}))
	defer enclave.Close()
	u, _ := url.Parse(enclave.URL)
	var logs lockedBuffer
	h, err := New(Options{Gateway: u, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	relay := httptest.NewServer(h)
	defer relay.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, relay.URL+GatewayPath, strings.NewReader("sealed"))
	req.Header.Set("Content-Type", ohttp.MediaTypeChunkedReq)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first chunk %q, %v", line, err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "path=/v1/ohttp") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := logs.String(); !strings.Contains(got, "path=/v1/ohttp status=200") {
		t.Fatalf("no line with the final status for the abandoned stream:\n%s", got)
	}
}

// Chunked messages carry Incremental: ?1 on both sides of the relay
// (draft-ietf-ohai-chunked-ohttp section 3), set by the relay from the
// media type, whether or not the client sent it; whole ones do not, even
// when the client asks.
func TestRelayChunkedIsIncremental(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, answer, clientSays, wantEnclave, wantClient string
	}{
		{"chunked", ohttp.MediaTypeChunkedReq, ohttp.MediaTypeChunkedResp, "", "?1", "?1"},
		{"chunked, client says so", ohttp.MediaTypeChunkedReq, ohttp.MediaTypeChunkedResp, "?1", "?1", "?1"},
		{"whole", ohttp.MediaTypeRequest, ohttp.MediaTypeResponse, "", "", ""},
		{"whole, client says otherwise", ohttp.MediaTypeRequest, ohttp.MediaTypeResponse, "?1", "", ""},
	} {
		var got string
		enclave := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Get(incremental)
			w.Header().Set("Content-Type", tc.answer)
			w.Write([]byte("sealed"))
		}))
		relay := newRelay(t, enclave.URL, 0)
		h := map[string]string{}
		if tc.clientSays != "" {
			h[incremental] = tc.clientSays
		}
		resp := send(t, http.MethodPost, relay.URL+GatewayPath, tc.ctype, strings.NewReader("x"), h)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		enclave.Close()
		if got != tc.wantEnclave || resp.Header.Get(incremental) != tc.wantClient {
			t.Errorf("%s: Incremental %q to the enclave, %q to the client; want %q, %q", tc.name, got, resp.Header.Get(incremental), tc.wantEnclave, tc.wantClient)
		}
	}
}

// The gateway's answer to a request sealed to a key it does not have
// (RFC 9458 section 5.3: 400, application/problem+json, the ohttp-key
// type) reaches the client whole: without its status, media type or body
// the client could not tell it from any other refusal, and would not
// verify the enclave again.
func TestRelayPassesKeyProblem(t *testing.T) {
	const problem = `{"type":"https://iana.org/assignments/http-problem-types#ohttp-key","title":"key identifier unknown"}`
	enclave := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, problem)
	}))
	defer enclave.Close()
	relay := newRelay(t, enclave.URL, 0)
	for _, ctype := range []string{ohttp.MediaTypeRequest, ohttp.MediaTypeChunkedReq} {
		resp := send(t, http.MethodPost, relay.URL+GatewayPath, ctype, strings.NewReader("sealed"), nil)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" || string(body) != problem {
			t.Errorf("%s: %s, Content-Type %q, body %q, %v", ctype, resp.Status, resp.Header.Get("Content-Type"), body, err)
		}
	}
}
