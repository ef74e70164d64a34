# sockit chat: the IRC client core (src/tools/chat) and ncursesw for the full-screen interface.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SOCKIT_CHAT_NCURSESW REQUIRED ncursesw)
target_link_libraries(sockit PRIVATE sockit::chatclient sockit::irc ${SOCKIT_CHAT_NCURSESW_LIBRARIES})
