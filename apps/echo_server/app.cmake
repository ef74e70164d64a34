# echo-server links the serving layers (the top-level apps/CMakeLists.txt links them when they exist).
target_link_libraries(sockit PRIVATE sockit::proto sockit::serve sockit::loop)
target_link_libraries(sockit PRIVATE sockit::metrics)
