# The chat server's config loader lives in apps/ (the sockit executable), so this target compiles
# it and what it uses (apps/common/log.cpp for the level/format names; lazy_systemd/lazy_lib: the
# journal functions log.cpp refers to, loaded on first use, never here) beside the fuzz entry.
find_package(tomlplusplus REQUIRED)
target_sources(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/apps/chat_server/config_file.cpp
               ${PROJECT_SOURCE_DIR}/apps/common/log.cpp ${PROJECT_SOURCE_DIR}/apps/common/lazy_systemd.cpp
               ${PROJECT_SOURCE_DIR}/apps/common/lazy_lib.cpp)
target_include_directories(${exe} PRIVATE ${PROJECT_SOURCE_DIR}/apps)
target_link_libraries(${exe} PRIVATE sockit::store sockit::cluster tomlplusplus::tomlplusplus CLI11::CLI11
                      nlohmann_json::nlohmann_json fmt::fmt ${CMAKE_DL_LIBS})
