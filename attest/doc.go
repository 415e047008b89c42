package attest

// The checks Verify runs, in order, and the tests that break each one
// (SEV-SNP and TDX tests are in attest/hwverify, which holds those
// verifiers):
//
//	platform          dev refused without Policy.AllowDev           TestDevRoundTrip, TestVerifyCommandURL
//	report            the report/quote parses (size, version)       TestSNPRefuses/truncated, TestTDXRefuses/truncated, FuzzVerifyReport
//	certificates      SEV-SNP: VCEK/VLEK chains to go-sev-guest's   TestSNPRefuses/certificate_bit, TestSNPSelfMadeChain,
//	                  compiled-in AMD root for the product line;    TestSNPRefuses/certificates_expired, TestTDXRefuses/certificate_bit,
//	                  TDX: PCK chain ends at Intel's SGX root       TestTDXForgedChain
//	signature         the report/quote signature (and, for TDX,     TestSNPRefuses/signature_bit (and the measurement, report data
//	                  the QE report) verifies                       and debug bits), TestTDXRefuses/signature_bit, TestDevReportTampering
//	tdx_module        TDX only: MRSIGNERSEAM and SEAMATTRIBUTES     TestTDXModuleIdentity
//	                  are Intel's (zero), with or without collateral
//	qe_identity       TDX only: the QE report is Intel's TD_QE      TestTDQEIdentity, TestTDXQEIdentityChecked
//	                  (MRSIGNER, ISVPRODID 2, DEBUG off), pinned
//	tcb_evaluation    TDX only, with a minimum: the collateral's    TestTDXTCBEvaluationNumber, TestVerifyCommandTDXSample
//	                  TCB info and QE identity tcbEvaluationDataNumber
//	                  (Policy.MinTDXTCBEvaluationDataNumber)
//	collateral        TDX only: TCB level, QE identity, CRLs from   TestTDXCollateralOldTCB, TestFetchTDXCollateralCached,
//	                  Intel collateral (with Fetch, PCS's over the  TestFetchTDXCollateralOverDocument
//	                  document's; skipped, and said, if none)
//	guest_policy      SEV-SNP policy word parses                    FuzzVerifyReport
//	debug             debugging off unless Policy.AllowDebug        TestSNPSampleVerifies (the sample is a debug guest),
//	                  (TDX: no TUD bit at all)                      TestSNPSelfMadeChain, TestVerifyCommandSNPSample,
//	                                                                TestTDXRefuses/reserved_TUD_bit
//	migration_agent   no migration agent / migratable TD            TestSNPSelfMadeChain, TestTDXRefuses/migratable_attribute
//	td_attributes     TDX: TD_ATTRIBUTES.SEPT_VE_DISABLE set, unless   TestTDXAttributes
//	                  Policy.AllowTDXSEPTVE; no bit outside DEBUG's
//	                  byte, MIGRATABLE, ICSSD, LASS, PKS, KL, PERFMON
//	smt               SEV-SNP: SMT enabled on the platform            TestSNPRefuses/smt, TestSNPSMTPlatformInfo
//	                  (PLATFORM_INFO.SMT_EN) only if Policy.AllowSMT
//	cxl               SEV-SNP CXL_ALLOW only with Policy.AllowCXL   TestSNPSelfMadeChain
//	host_data         SEV-SNP HOST_DATA, TDX MRCONFIGID, MROWNER,   TestHostData
//	                  MROWNERCONFIG zero unless Policy.AllowHostData
//	rtmr3             TDX RTMR3 zero (nothing in pith extends it)   TestHostData
//	platform_info     SEV-SNP PLATFORM_INFO has each feature of     TestSNPPlatformInfo
//	                  Policy.RequireSNPPlatform (only when it is set)
//	guest_policy_abi  minimum firmware ABI the guest demands        TestSNPRefuses/guest_policy_ABI
//	vmpl              SEV-SNP report asked for at VMPL <= MaxSNPVMPL   TestSNPSelfMadeChain
//	tcb               minimum SNP TCB (reported, committed and      TestSNPRefuses/old_TCB, TestSNPMinTCBCommitted,
//	                  launch) / TDX TEE_TCB_SVN, QE, PCE            TestTDXRefuses/old_TCB, old_QE
//	id_key            ID block key in Policy.SNPIDKeyDigests (only  TestSNPGuestSVNNeedsIDKey
//	                  when that list is set)
//	guest_svn         minimum SEV-SNP guest SVN, met only under a   TestSNPRefuses/guest_SVN, TestSNPGuestSVNNeedsIDKey
//	                  trusted ID block key
//	firmware          go-sev-guest validate: reported TCB equals    (passes on the sample; run on every SNP report)
//	                  the VCEK's, CHIP_ID equals its HWID
//	chip_id           optional CHIP_ID allowlist                    TestSNPRefuses/chip_not_on_the_allowlist
//	measurement       SEV-SNP MEASUREMENT for the vCPU count/type,  TestSNPRefuses/manifest_expects..., wrong_vCPU_count,
//	                  TDX MRTD and RTMR0..2, dev executable hash     TestTDXRefuses/manifest_MRTD, manifest_RTMR2, TestDevReportTampering
//	report_data       REPORT_DATA = ReportData(nonce, key config)   TestSNPRefuses/wrong_nonce, no_nonce, TestTDXRefuses/wrong_nonce,
//	                                                                TestDevRoundTrip, TestSNPSampleVerifies (fails alone)
