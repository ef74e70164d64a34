# The TLS chat cases once more with the server on the io_uring poller (ctest names
# uring.integ_tls.<test>, label integration; about 5 s): TLS and plaintext clients in one channel
# (ring sends to the plaintext ones, the TLS ones through the readiness path), certificates
# reloaded on SIGHUP with everyone kept, a plaintext client on the TLS port closed while the others
# are served. chat_server_test.cpp's ChatServer adds `--backend $SOCKIT_TEST_CHAT_BACKEND`; without
# io_uring the server falls back to epoll with a message and the cases still run.
gtest_discover_tests(${test_target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                     TEST_PREFIX uring.integ_tls. TEST_LIST integ_tls_uring_tests
                     TEST_FILTER "ChatServerTls.PlaintextAndTlsClientsChatInOneChannel:\
ChatServerTls.CertificatesReloadedOnSighupAndRehashWithoutDroppingAnyone:\
ChatServerTls.PlaintextClientOnTheTlsPortIsClosedOthersServed"
                     PROPERTIES LABELS integration TIMEOUT 180
                                ENVIRONMENT "SOCKIT_TEST_CHAT_BACKEND=uring")
