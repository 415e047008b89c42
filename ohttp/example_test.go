package ohttp_test

import (
	"crypto/rand"
	"fmt"

	"github.com/pith-project/pith/bhttp"
	"github.com/pith-project/pith/ohttp"
)

func Example() {
	// Gateway: a post-quantum hybrid key, published as application/ohttp-keys.
	key, err := ohttp.GenerateKey(1, ohttp.KEMMLKEM768X25519, rand.Reader)
	if err != nil {
		panic(err)
	}
	gw, err := ohttp.NewGateway(key)
	if err != nil {
		panic(err)
	}
	published := ohttp.MarshalKeyConfigs(gw.KeyConfigs())

	// Client: seal a binary HTTP request to the published configuration.
	cfgs, err := ohttp.ParseKeyConfigs(published)
	if err != nil {
		panic(err)
	}
	inner, _ := (&bhttp.Request{Method: "GET", Scheme: "https", Path: "/api/version"}).MarshalKnownLength()
	msg, client, err := ohttp.EncapsulateRequest(cfgs[0], cfgs[0].Suites[0], inner, nil)
	if err != nil {
		panic(err)
	}

	// Gateway: open it, answer, seal the answer.
	plain, respCtx, err := gw.DecapsulateRequest(msg)
	if err != nil {
		panic(err)
	}
	req, _ := bhttp.ParseRequest(plain)
	answer, _ := (&bhttp.Response{Status: 200, Body: []byte(`{"version":"0.1"}`)}).MarshalKnownLength()
	sealed, err := respCtx.EncapsulateResponse(answer)
	if err != nil {
		panic(err)
	}

	// Client: open the answer.
	opened, err := client.DecapsulateResponse(sealed)
	if err != nil {
		panic(err)
	}
	resp, _ := bhttp.ParseResponse(opened)
	fmt.Println(req.Method, req.Path, "->", resp.Status, string(resp.Body))
	// Output: GET /api/version -> 200 {"version":"0.1"}
}
