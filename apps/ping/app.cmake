# sockit ping: probe codec and reply tracker live in src/tools/ping.
target_link_libraries(sockit PRIVATE sockit::ping)
