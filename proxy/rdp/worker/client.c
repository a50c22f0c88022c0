// FreeRDP 2.11 client for the worker. Rendering is FreeRDP's software GDI in PIXEL_FORMAT_RGBA32,
// whose rows are laid out as image.RGBA's, so Go copies them straight into Damage frames.
// Everything here runs on one thread (the Go goroutine that called vigil_connect, locked to its
// OS thread), except vigil_wake.
#include <stdio.h>
#include <string.h>

#include <freerdp/freerdp.h>
#include <freerdp/gdi/gdi.h>
#include <freerdp/input.h>
#include <freerdp/primitives.h>
#include <freerdp/event.h>
#include <freerdp/error.h>
#include <freerdp/addin.h>
#include <freerdp/channels/channels.h>
#include <freerdp/channels/disp.h>
#include <freerdp/channels/cliprdr.h>
#include <freerdp/client/channels.h>
#include <freerdp/client/cmdline.h>
#include <freerdp/client/disp.h>
#include <winpr/synch.h>
#include <winpr/sysinfo.h>

#include "client.h"
#include "_cgo_export.h"

typedef struct
{
	rdpContext context; // first: FreeRDP allocates ContextSize and hands out rdpContext*
	DispClientContext* disp;
	BOOL certRefused;
} vigilContext;

static freerdp* g_instance;
static HANDLE g_wake;
static const char* g_err; // a local failure, for vigil_last_error

static int local_failure(const char* what)
{
	g_err = what;
	return 2;
}

static UINT disp_caps(DispClientContext* disp, UINT32 maxMonitors, UINT32 factorA, UINT32 factorB)
{
	(void)disp;
	(void)maxMonitors;
	(void)factorA;
	(void)factorB;
	goCaps(1);
	return CHANNEL_RC_OK;
}

static void on_channel_connected(void* ctx, ChannelConnectedEventArgs* e)
{
	vigilContext* vc = (vigilContext*)ctx;
	if (strcmp(e->name, DISP_DVC_CHANNEL_NAME) == 0)
	{
		vc->disp = (DispClientContext*)e->pInterface;
		vc->disp->custom = vc;
		vc->disp->DisplayControlCaps = disp_caps;
		// Caps arrive from the server later (disp_caps); only then does a layout work.
	}
	else if (strcmp(e->name, CLIPRDR_SVC_CHANNEL_NAME) == 0)
		vigil_clip_init(e->pInterface);
}

static void on_channel_disconnected(void* ctx, ChannelDisconnectedEventArgs* e)
{
	vigilContext* vc = (vigilContext*)ctx;
	if (strcmp(e->name, DISP_DVC_CHANNEL_NAME) == 0)
		vc->disp = NULL;
	else if (strcmp(e->name, CLIPRDR_SVC_CHANNEL_NAME) == 0)
		vigil_clip_uninit();
}

static BOOL vigil_pre_connect(freerdp* instance)
{
	rdpContext* ctx = instance->context;
	PubSub_SubscribeChannelConnected(ctx->pubSub, on_channel_connected);
	PubSub_SubscribeChannelDisconnected(ctx->pubSub, on_channel_disconnected);
	return freerdp_client_load_addins(ctx->channels, instance->settings);
}

static BOOL vigil_begin_paint(rdpContext* context)
{
	(void)context;
	return TRUE;
}

// The region GDI invalidated since the last EndPaint is the damage: send it, then clear it. GDI
// keeps both the list of rectangles and their bounding box; the list is sent while it is short
// (scattered changes, a clock and a cursor, cost their own pixels only), the box otherwise.
static BOOL vigil_end_paint(rdpContext* context)
{
	rdpGdi* gdi = context->gdi;
	HGDI_WND hwnd = gdi->primary->hdc->hwnd;
	if (!hwnd->invalid->null)
	{
		if (hwnd->ninvalid > 0 && hwnd->ninvalid <= 32 && hwnd->cinvalid)
		{
			for (INT32 i = 0; i < hwnd->ninvalid; i++)
			{
				const GDI_RGN* r = &hwnd->cinvalid[i];
				if (!goDamage(gdi->primary_buffer, gdi->stride, r->x, r->y, r->w, r->h, gdi->width, gdi->height))
					return FALSE;
			}
		}
		else
		{
			HGDI_RGN r = hwnd->invalid;
			if (!goDamage(gdi->primary_buffer, gdi->stride, r->x, r->y, r->w, r->h, gdi->width, gdi->height))
				return FALSE;
		}
	}
	hwnd->invalid->null = TRUE;
	hwnd->ninvalid = 0;
	return goEndPaint();
}

static BOOL vigil_desktop_resize(rdpContext* context)
{
	rdpSettings* s = context->settings;
	if (!gdi_resize(context->gdi, s->DesktopWidth, s->DesktopHeight))
		return FALSE;
	rdpGdi* gdi = context->gdi;
	return goResize(gdi->primary_buffer, gdi->stride, gdi->width, gdi->height);
}

static BOOL vigil_play_sound(rdpContext* context, const PLAY_SOUND_UPDATE* s)
{
	(void)context;
	(void)s;
	return goBell();
}

static BOOL vigil_save_session_info(rdpContext* context, UINT32 type, void* data)
{
	(void)context;
	(void)data;
	return goLogon(type);
}

static BOOL vigil_post_connect(freerdp* instance)
{
	if (!gdi_init(instance, PIXEL_FORMAT_RGBA32))
		return FALSE;
	rdpUpdate* u = instance->update;
	u->BeginPaint = vigil_begin_paint;
	u->EndPaint = vigil_end_paint;
	u->DesktopResize = vigil_desktop_resize;
	u->PlaySound = vigil_play_sound;
	u->SaveSessionInfo = vigil_save_session_info;
	rdpGdi* gdi = instance->context->gdi;
	return goConnected(gdi->width, gdi->height,
	                   (int)freerdp_settings_get_uint32(instance->settings, FreeRDP_SelectedProtocol));
}

static void vigil_post_disconnect(freerdp* instance)
{
	gdi_free(instance);
}

// With ExternalCertificateManagement, FreeRDP hands every TLS certificate (TLS and NLA security)
// to this callback and to nothing else: no known_hosts file, no CA store. Go pins it.
static int vigil_verify_x509(freerdp* instance, const BYTE* data, size_t length, const char* host,
                             UINT16 port, DWORD flags)
{
	(void)host;
	(void)port;
	(void)flags;
	int ok = goVerifyCert((void*)data, (int)length);
	if (!ok)
		((vigilContext*)instance->context)->certRefused = TRUE;
	return ok ? 1 : 0;
}

// Never prompt: the credential is the vaulted one or nothing.
static BOOL vigil_authenticate(freerdp* instance, char** user, char** password, char** domain)
{
	(void)instance;
	return *user && *password;
}

static BOOL vigil_context_new(freerdp* instance, rdpContext* context)
{
	(void)instance;
	(void)context;
	return TRUE;
}

void vigil_init(void)
{
	// fd 1 is stderr by now (worker.go); C's stdout buffer would hold FreeRDP's log lines until an
	// exit that never flushes it.
	setvbuf(stdout, NULL, _IOLBF, 0);
	// CPU primitives, without the autodetection that benchmarks CPU against OpenCL on first use:
	// it cost 0.3 s of every connection, and the worker renders in software anyway.
	primitives_set_hints(PRIMITIVES_ONLY_CPU);
}

int vigil_connect(const char* host, int port, const char* user, const char* domain, const char* password,
                  int security, int width, int height)
{
	freerdp_register_addin_provider(freerdp_channels_load_static_addin_entry, 0);
	g_wake = CreateEvent(NULL, TRUE, FALSE, NULL);
	if (!g_wake)
		return local_failure("create wake event");
	freerdp* instance = freerdp_new();
	if (!instance)
		return local_failure("freerdp_new");
	instance->ContextSize = sizeof(vigilContext);
	instance->ContextNew = vigil_context_new;
	instance->PreConnect = vigil_pre_connect;
	instance->PostConnect = vigil_post_connect;
	instance->PostDisconnect = vigil_post_disconnect;
	instance->VerifyX509Certificate = vigil_verify_x509;
	instance->Authenticate = vigil_authenticate;
	if (!freerdp_context_new(instance))
		return local_failure("freerdp_context_new");
	g_instance = instance;
	rdpSettings* s = instance->settings;
	if (!freerdp_settings_set_string(s, FreeRDP_ServerHostname, host) ||
	    !freerdp_settings_set_string(s, FreeRDP_Username, user) ||
	    !freerdp_settings_set_string(s, FreeRDP_Password, password) ||
	    (domain[0] && !freerdp_settings_set_string(s, FreeRDP_Domain, domain)))
		return local_failure("settings: credentials");
	freerdp_settings_set_uint32(s, FreeRDP_ServerPort, port);
	freerdp_settings_set_uint32(s, FreeRDP_DesktopWidth, width);
	freerdp_settings_set_uint32(s, FreeRDP_DesktopHeight, height);
	freerdp_settings_set_uint32(s, FreeRDP_ColorDepth, 32);
	freerdp_settings_set_bool(s, FreeRDP_SoftwareGdi, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_AutoLogonEnabled, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_ExternalCertificateManagement, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_IgnoreCertificate, FALSE);
	// DESIGN.md: keep negotiation on and toggle only the protocols; turning negotiation off
	// breaks servers that expect an X.224 negotiation request.
	freerdp_settings_set_bool(s, FreeRDP_NegotiateSecurityLayer, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_ExtSecurity, FALSE);
	freerdp_settings_set_bool(s, FreeRDP_NlaSecurity, security == 0 || security == 1);
	freerdp_settings_set_bool(s, FreeRDP_TlsSecurity, security == 0 || security == 2);
	freerdp_settings_set_bool(s, FreeRDP_RdpSecurity, security == 0 || security == 3);
	freerdp_settings_set_bool(s, FreeRDP_SupportDisplayControl, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_DynamicResolutionUpdate, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_SupportDynamicChannels, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_SupportGraphicsPipeline, FALSE);
	freerdp_settings_set_bool(s, FreeRDP_RedirectClipboard, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_AudioPlayback, FALSE);
	freerdp_settings_set_bool(s, FreeRDP_DeviceRedirection, FALSE);
	freerdp_settings_set_bool(s, FreeRDP_AllowFontSmoothing, TRUE);
	freerdp_settings_set_uint32(s, FreeRDP_KeyboardLayout, 0x409);
	freerdp_settings_set_uint32(s, FreeRDP_TcpConnectTimeout, 10000);
	if (!freerdp_connect(instance))
	{
		if (((vigilContext*)instance->context)->certRefused)
			return 1;
		UINT32 err = freerdp_get_last_error(instance->context);
		return err ? (int)err : local_failure("freerdp_connect failed without an error code");
	}
	return 0;
}

const char* vigil_last_error(void)
{
	if (g_err)
		return g_err;
	if (!g_instance || !g_instance->context)
		return "no context";
	return freerdp_get_last_error_string(freerdp_get_last_error(g_instance->context));
}

int vigil_selected_protocol(void)
{
	if (!g_instance || !g_instance->context)
		return 0;
	return (int)freerdp_settings_get_uint32(g_instance->context->settings, FreeRDP_SelectedProtocol);
}

int vigil_cert_refused(void)
{
	return g_instance && g_instance->context && ((vigilContext*)g_instance->context)->certRefused;
}

int vigil_loop(void)
{
	rdpContext* ctx = g_instance->context;
	UINT64 last = GetTickCount64();
	goHeartbeat();
	while (!freerdp_shall_disconnect(g_instance))
	{
		HANDLE handles[MAXIMUM_WAIT_OBJECTS];
		DWORD n = freerdp_get_event_handles(ctx, handles, MAXIMUM_WAIT_OBJECTS - 1);
		if (n == 0)
			return local_failure("no event handles");
		handles[n++] = g_wake;
		// Wake at least twice a second, so heartbeats keep their once-a-second promise.
		if (WaitForMultipleObjects(n, handles, FALSE, 500) == WAIT_FAILED)
			return local_failure("wait for events failed");
		if (!freerdp_check_event_handles(ctx))
		{
			UINT32 err = freerdp_get_last_error(ctx);
			return err ? (int)err : local_failure("event processing failed (a channel or the transport; see the worker log)");
		}
		// Reset before draining: an input queued after the drain sets it again.
		ResetEvent(g_wake);
		if (!goDrain())
			return 0;
		UINT64 now = GetTickCount64();
		if (now - last >= 500)
		{
			last = now;
			if (!goHeartbeat())
				return local_failure("gateway gone");
		}
	}
	UINT32 err = freerdp_get_last_error(ctx);
	return err ? (int)err : 0x7fffffff; // the server ended the session without an error code
}

void vigil_wake(void)
{
	if (g_wake)
		SetEvent(g_wake);
}

int vigil_key(int down, int scancode)
{
	// freerdp_input_send_keyboard_event_ex takes an RDP_SCANCODE: the set-1 code with 0x100 for
	// an extended key, which is exactly frame.Input.Scancode.
	return freerdp_input_send_keyboard_event_ex(g_instance->input, down ? TRUE : FALSE, (DWORD)scancode);
}

int vigil_pointer(int flags, int x, int y)
{
	return freerdp_input_send_mouse_event(g_instance->input, (UINT16)flags, (UINT16)x, (UINT16)y);
}

int vigil_resize(int w, int h)
{
	DispClientContext* disp = ((vigilContext*)g_instance->context)->disp;
	if (!disp || !disp->SendMonitorLayout)
		return -1;
	DISPLAY_CONTROL_MONITOR_LAYOUT l;
	memset(&l, 0, sizeof(l));
	l.Flags = DISPLAY_CONTROL_MONITOR_PRIMARY;
	l.Width = (UINT32)w;
	l.Height = (UINT32)h;
	l.Orientation = ORIENTATION_LANDSCAPE;
	l.DesktopScaleFactor = 100;
	l.DeviceScaleFactor = 100;
	return disp->SendMonitorLayout(disp, 1, &l) == CHANNEL_RC_OK ? 0 : -2;
}

void vigil_disconnect(void)
{
	if (g_instance)
		freerdp_disconnect(g_instance);
}
