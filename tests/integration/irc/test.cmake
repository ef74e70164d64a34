# Key cases of the chat suite once more with every server on the io_uring poller (ctest names
# uring.integ_irc.<test>, label integration): ring sends under a fan-out burst,
# ordering, refusals (the descriptor released at once), line framing, timeouts, signals, IRCv3 tags.
# irc_client.hpp's ChatServer adds `--backend $SOCKIT_TEST_CHAT_BACKEND` unless a test picks its
# own backend; Backends/ChatServerBackend.*/3 runs uring in the plain suite too. Without io_uring
# the server falls back to epoll with a message and the cases still run (about 15 s in all).
# Left out on uring (known defect, docs/MODELS.md "Chat on it"; it runs on epoll in the plain
# suite): ChatServerLimits.SlowReaderIsDroppedWithSendQExceeded - on uring the prompt reader is
# itself dropped for SendQ exceeded now and then (fresh-clone CI at 56b72d5: 'reader stalled after
# 14862' 1.3 s in, an EOF; engineer B: 2 of 29 runs, epoll 0 of 15): one ring send of <= 16 KiB is
# in flight per connection and a fan-out burst waits in user space, where the 64 KiB SendQ counts it.
set(SOCKIT_IRC_URING_CASES "ChatServerOrdering.*:\
ChatServerLimits.PerIpLimitWithLoopbackExemptionOff:ChatServerHostile.RefusedConnectionsReleaseTheirDescriptorsAtOnce:\
ChatServerLines.ByteByByteDelivery:ChatServerLines.SixtyFourKiBWithoutNewlineIsRecvQExceeded:\
ChatServerLimits.PingOnIdleAndPingTimeout:ChatServerLimits.ExcessFloodDisconnectsTheFlooder:\
ChatServerSignals.SigtermSendsErrorToEveryClientAndExitsZero:ChatServer.EveryCommandAnswersItsErrorNumeric:\
ChatServerIrcv3.TagsTagmsgAndLabelsOverTheWire:ChatServerEdges.QuitWithSeveralWordsQuitsWithThem")
gtest_discover_tests(${test_target} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                     TEST_PREFIX uring.integ_irc. TEST_LIST integ_irc_uring_tests
                     TEST_FILTER "${SOCKIT_IRC_URING_CASES}"
                     PROPERTIES LABELS integration TIMEOUT 180
                                ENVIRONMENT "SOCKIT_TEST_CHAT_BACKEND=uring")
# Real clients on the io_uring poller (ctest names uring.interop.<script>, label interop; about
# 40 s in all): ii, WeeChat (plaintext: ring sends), irssi over TLS, IRC over WebSocket (ws:// and
# wss://). tests/interop/irc_lib.bash and chat_lib.bash pass `--backend $SOCKIT_TEST_CHAT_BACKEND`.
foreach(script IN ITEMS irc_ii irc_weechat irc_irssi_tls ws_protocol)
  add_test(NAME uring.interop.${script} COMMAND bash ${PROJECT_SOURCE_DIR}/tests/interop/${script}.sh)
  set_tests_properties(uring.interop.${script} PROPERTIES LABELS interop TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "SOCKIT=$<TARGET_FILE:sockit>;SOCKIT_SOURCE_DIR=${PROJECT_SOURCE_DIR};SOCKIT_BUILD_DIR=${PROJECT_BINARY_DIR};\
SOCKIT_TEST_CHAT_BACKEND=uring")
endforeach()
