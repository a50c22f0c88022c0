// The C half of the RDP worker: one FreeRDP 2 client, driven from Go (worker.go) on one locked
// OS thread. See client.c.
#ifndef VIGIL_RDP_CLIENT_H
#define VIGIL_RDP_CLIENT_H

#include <stdint.h>

// vigil_init prepares the C runtime (stdio buffering); call it first.
void vigil_init(void);
// vigil_connect connects and logs in. It returns 0 on success, else the FreeRDP error code (or
// 1 when the certificate was refused by goVerifyCert, or 2 for a local failure).
int vigil_connect(const char* host, int port, const char* user, const char* domain, const char* password,
                  int security, int width, int height);
// vigil_last_error returns FreeRDP's text for its last error.
const char* vigil_last_error(void);
// vigil_selected_protocol is the negotiated security protocol (MS-RDPBCGR selectedProtocol).
int vigil_selected_protocol(void);
// vigil_cert_refused reports whether goVerifyCert refused the server's certificate.
int vigil_cert_refused(void);
// vigil_loop runs the event loop until the server disconnects or goDrain asks to stop. It returns
// 0 for a stop asked by the gateway, else the FreeRDP error code (or 2) that ended the session.
int vigil_loop(void);
// vigil_wake wakes the loop so it calls goDrain; any thread may call it.
void vigil_wake(void);
// Input, called by goDrain on the loop thread only.
int vigil_key(int down, int scancode);
int vigil_pointer(int flags, int x, int y);
// vigil_resize returns -1 when the display-control channel is not up.
int vigil_resize(int w, int h);
void vigil_disconnect(void);
// Clipboard (clip.c): vigil_clip_init takes the cliprdr channel's interface when it connects;
// vigil_clip_set offers UTF-16LE text (with its NUL) to the server, -1 without a channel.
void vigil_clip_init(void* iface);
void vigil_clip_uninit(void);
int vigil_clip_set(const void* utf16, int len);

#endif
