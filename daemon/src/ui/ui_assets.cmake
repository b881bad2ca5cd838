# Included by daemon/CMakeLists.txt after scrubd_daemon exists: fetches rrweb-player from npm
# at configure time (npm ci here when node_modules is missing or package-lock.json changed)
# and embeds it with the console's web/ files into scrubd_daemon (cmake/embed_assets.cmake).
# No CDN at run time: the binary carries every byte the console loads.
set(SCRUBD_UI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(SCRUBD_UI_PLAYER ${SCRUBD_UI_DIR}/node_modules/rrweb-player/dist)
set(SCRUBD_UI_STAMP ${SCRUBD_UI_DIR}/node_modules/.scrubd-install-stamp)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${SCRUBD_UI_DIR}/package-lock.json)
file(SHA256 ${SCRUBD_UI_DIR}/package-lock.json scrubd_ui_lock_sum)
set(scrubd_ui_stamp_sum "")
if(EXISTS ${SCRUBD_UI_STAMP})
  file(READ ${SCRUBD_UI_STAMP} scrubd_ui_stamp_sum)
  string(STRIP "${scrubd_ui_stamp_sum}" scrubd_ui_stamp_sum)
endif()
if(NOT EXISTS ${SCRUBD_UI_PLAYER}/rrweb-player.umd.min.cjs
   OR NOT scrubd_ui_stamp_sum STREQUAL scrubd_ui_lock_sum)
  find_program(SCRUBD_NPM npm)
  if(NOT SCRUBD_NPM)
    message(FATAL_ERROR "npm not found: it installs rrweb-player for the console "
                        "(daemon/src/ui/package.json); run .ci/install-deps")
  endif()
  message(STATUS "daemon/src/ui: npm ci (rrweb-player)")
  execute_process(COMMAND ${SCRUBD_NPM} ci --no-audit --no-fund --loglevel=error
                  WORKING_DIRECTORY ${SCRUBD_UI_DIR} RESULT_VARIABLE scrubd_npm_rc)
  if(NOT scrubd_npm_rc EQUAL 0)
    message(FATAL_ERROR "npm ci in ${SCRUBD_UI_DIR} failed (${scrubd_npm_rc})")
  endif()
  file(WRITE ${SCRUBD_UI_STAMP} "${scrubd_ui_lock_sum}\n")
endif()

# Served name = file. The names are the interface (ui/assets.h); keep them in step.
set(SCRUBD_UI_ASSETS
    "rrweb-player.js=${SCRUBD_UI_PLAYER}/rrweb-player.umd.min.cjs"
    "rrweb-player.css=${SCRUBD_UI_PLAYER}/style.min.css"
    "index.html=${SCRUBD_UI_DIR}/web/index.html"
    "console.js=${SCRUBD_UI_DIR}/web/console.js"
    "console.css=${SCRUBD_UI_DIR}/web/console.css"
    "preview.js=${SCRUBD_UI_DIR}/web/preview.js"
    "preview.css=${SCRUBD_UI_DIR}/web/preview.css")
set(SCRUBD_UI_FILES)
foreach(item IN LISTS SCRUBD_UI_ASSETS)
  string(REGEX REPLACE "^[^=]*=" "" f "${item}")
  list(APPEND SCRUBD_UI_FILES ${f})
endforeach()
set(SCRUBD_UI_EMBEDDED ${CMAKE_CURRENT_BINARY_DIR}/embedded_ui_assets.cc)
add_custom_command(
  OUTPUT ${SCRUBD_UI_EMBEDDED}
  COMMAND ${CMAKE_COMMAND} -DOUT=${SCRUBD_UI_EMBEDDED} "-DASSETS=${SCRUBD_UI_ASSETS}"
          -P ${SCRUBD_UI_DIR}/cmake/embed_assets.cmake
  DEPENDS ${SCRUBD_UI_FILES} ${SCRUBD_UI_DIR}/cmake/embed_assets.cmake
  COMMENT "Embedding the console and rrweb-player (${SCRUBD_UI_DIR})"
  VERBATIM)
target_sources(scrubd_daemon PRIVATE ${SCRUBD_UI_EMBEDDED})
