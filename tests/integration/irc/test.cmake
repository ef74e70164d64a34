# Key cases of the chat suite once more with every server on the io_uring poller (ctest names
# uring.integ_irc.<test>, label integration): ring sends under a fan-out burst and a slow reader,
# ordering, refusals (the descriptor released at once), line framing, timeouts, signals, IRCv3 tags.
# irc_client.hpp's ChatServer adds `--backend $SOCKIT_TEST_CHAT_BACKEND` unless a test picks its
# own backend; Backends/ChatServerBackend.*/3 runs uring in the plain suite too. Without io_uring
# the server falls back to epoll with a message and the cases still run (about 15 s in all).
set(SOCKIT_IRC_URING_CASES "ChatServerOrdering.*:ChatServerLimits.SlowReaderIsDroppedWithSendQExceeded:\
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
