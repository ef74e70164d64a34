# The chat server's config loader lives in apps/ (the sockit executable): this target links the
# objects sockit links (sockit_app_config, apps/CMakeLists.txt: config_file.cpp, and what it uses:
# common/log.cpp for the level/format names; lazy_systemd/lazy_lib: the journal functions log.cpp
# refers to, loaded on first use, never here) beside the fuzz entry, rather than compiling them again.
target_link_libraries(${exe} PRIVATE sockit_app_config)
