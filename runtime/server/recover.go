package server

import "net/http"

// sentWriter notes whether any of the answer has gone out, so that a
// panic can be answered 500 only while nothing was: once a status is
// sent, http.Error's text would be appended to the answer instead, after
// a chunked answer's sealed chunks as plaintext the client fails to
// open, which points at tampering rather than at the server.
type sentWriter struct {
	http.ResponseWriter
	sent bool
	cut  bool // a panic ended the handler after some of the answer was sent
}

func (s *sentWriter) WriteHeader(code int) {
	// An informational (1xx) status leaves the final one to come.
	if code >= 200 {
		s.sent = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *sentWriter) Write(p []byte) (int, error) {
	s.sent = true
	return s.ResponseWriter.Write(p)
}

// FlushError is here, not only reached through Unwrap, because a flush
// sends the status (200 if none was set).
func (s *sentWriter) FlushError() error {
	s.sent = true
	return http.NewResponseController(s.ResponseWriter).Flush()
}

func (s *sentWriter) Flush() { _ = s.FlushError() }

func (s *sentWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// recoverPanic, deferred inside a request's scope (so that what the
// panicking handler left is wiped as on every path), ends a panic in the
// handler writing to w. The panic value may hold content: it is neither
// logged nor kept. It answers 500 if nothing was sent yet, and otherwise
// sends nothing more and marks the answer cut.
func (s *Server) recoverPanic(w *sentWriter) {
	if recover() == nil {
		return
	}
	s.log.Error("request handler panicked")
	if w.sent {
		w.cut = true
		return
	}
	http.Error(w, "internal error", http.StatusInternalServerError)
}
