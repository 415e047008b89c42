package attest

import "fmt"

// TDXCollateral is Intel PCS collateral for one quote, carried in
// Document.Collateral as JSON: the response bodies exactly as PCS served
// them and the issuer chains from its response headers (PEM, not
// URL-encoded). With it the verifier checks the platform's TCB level, the
// quoting enclave's identity and revocation; without it, only signatures.
type TDXCollateral struct {
	TCBInfo               []byte `json:"tcb_info"`                 // GET .../tdx/certification/v4/tcb?fmspc=
	TCBInfoIssuerChain    string `json:"tcb_info_issuer_chain"`    // header Tcb-Info-Issuer-Chain
	QEIdentity            []byte `json:"qe_identity"`              // GET .../tdx/certification/v4/qe/identity
	QEIdentityIssuerChain string `json:"qe_identity_issuer_chain"` // header Sgx-Enclave-Identity-Issuer-Chain
	PCKCRL                []byte `json:"pck_crl"`                  // GET .../sgx/certification/v4/pckcrl?ca=...&encoding=der
	PCKCRLIssuerChain     string `json:"pck_crl_issuer_chain"`     // header Sgx-Pck-Crl-Issuer-Chain
	RootCRL               []byte `json:"root_crl"`                 // Intel SGX Root CA CRL (DER)
}

// ParseTDXCollateral decodes Document.Collateral of a TDX document, strictly.
func ParseTDXCollateral(b []byte) (*TDXCollateral, error) {
	if len(b) > maxCollateral {
		return nil, fmt.Errorf("attest: TDX collateral of %d bytes: larger than %d", len(b), maxCollateral)
	}
	var c TDXCollateral
	if err := decodeStrict(b, &c); err != nil {
		return nil, fmt.Errorf("attest: TDX collateral: %w", err)
	}
	return &c, nil
}
