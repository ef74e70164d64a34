# sockit load: the engine lives in src/tools/load (sockit::loadgen).
target_link_libraries(sockit PRIVATE sockit::loadgen)
