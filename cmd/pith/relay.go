package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/pith-project/pith/relay"
)

func init() {
	var (
		gateway, listen, certFile, keyFile string
		maxBody                            int64
	)
	register(&command{
		Name:  "relay",
		Short: "an Oblivious HTTP relay for an enclave: sees who asks, never what",
		Usage: "pith relay --gateway URL [--listen ADDR] [--tls-cert FILE --tls-key FILE] [--max-body BYTES]",
		Help: `Passes sealed requests (POST /v1/ohttp) and the two requests a client needs
before it can seal (GET /v1/attestation, GET /.well-known/ohttp-gateway) on to
the enclave at --gateway, with none of the client's address or header fields:
the enclave learns what is asked and never who, the relay who asks and never
what. Run it as a party other than the enclave's operator; the two together
could link them. Everything else is refused; answers stream through as they
come. Logs a line a request on stderr, without addresses or content.

Clients point both --relay and --attestation-url at it, so that the enclave
never sees their address:
  pith summarize --url GATEWAY --relay https://RELAY/v1/ohttp \
      --attestation-url https://RELAY --manifest manifest.json chat.txt
Serve it over TLS (--tls-cert, --tls-key, or a TLS proxy in front) beyond
loopback: what it passes on is sealed either way, but on plain HTTP anyone
on the path sees which clients use it and could answer in its place (the
pith client follows no redirect from a relay).

Example:
  pith relay --gateway https://enclave.example --listen :8443 \
      --tls-cert relay.crt --tls-key relay.key`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&gateway, "gateway", "", "the enclave's base `URL` (the --url its clients verify)")
			fs.StringVar(&listen, "listen", "127.0.0.1:8082", "address to serve on (':8082' for every interface)")
			fs.Int64Var(&maxBody, "max-body", relay.DefaultMaxBody, "longest sealed request body to pass on, in bytes")
			fs.StringVar(&certFile, "tls-cert", "", "serve TLS with this certificate chain (PEM `FILE`)")
			fs.StringVar(&keyFile, "tls-key", "", "the TLS certificate's private key (PEM `FILE`)")
		},
		Run: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return usagef("unexpected argument %q", args[0])
			}
			if gateway == "" {
				return usagef("--gateway is required: the enclave's base URL")
			}
			u, err := url.Parse(gateway)
			if err != nil {
				return usagef("--gateway: %v", err)
			}
			if (certFile == "") != (keyFile == "") {
				return usagef("--tls-cert and --tls-key go together")
			}
			if certFile != "" {
				if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
					return usagef("--tls-cert %s, --tls-key %s: %v", certFile, keyFile, err)
				}
			}
			if maxBody < 1 {
				return usagef("--max-body: want at least 1 byte, not %d", maxBody)
			}
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			h, err := relay.New(relay.Options{Gateway: u, MaxBody: maxBody, Logger: log})
			if err != nil {
				return usagef("--gateway %s: %v", gateway, err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			scheme := "http"
			if certFile != "" {
				scheme = "https"
			}
			fmt.Fprintf(os.Stderr, "pith relay: on %s://%s, to %s\n", scheme, ln.Addr(), u.Redacted())
			// No write timeout: an answer streams for as long as its
			// generation runs, and the enclave bounds that itself. The
			// server's own error log is dropped: its lines (TLS and
			// header errors) name the client's address.
			hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
				ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}
			return serveUntil(ctx, hs, ln, certFile, keyFile)
		},
	})
}
