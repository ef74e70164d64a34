# sockit chat-server: the IRC server core (sockit::irc) on the reactor (sockit::serve), TOML config.
find_package(tomlplusplus REQUIRED)
find_package(OpenSSL REQUIRED)
target_link_libraries(sockit PRIVATE sockit::irc sockit::serve tomlplusplus::tomlplusplus OpenSSL::SSL OpenSSL::Crypto)
target_link_libraries(sockit PRIVATE sockit::metrics)
target_link_libraries(sockit PRIVATE sockit::store)  # [history] (and accounts)
target_link_libraries(sockit PRIVATE sockit::ws)  # IRC over WebSocket (ws_listeners.cpp)
target_link_libraries(sockit PRIVATE sockit::cluster)  # --cluster: nodes joined through Redis (hiredis private to it)
