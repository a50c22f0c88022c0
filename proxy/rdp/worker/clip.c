// Clipboard (cliprdr static channel), text only (CF_UNICODETEXT). FreeRDP calls these handlers on
// the channel's own thread; the text offered to the server is guarded by a mutex because the loop
// thread replaces it.
//
// The server's Monitor Ready also serves as a logon signal: xrdp starts the clipboard (its
// chansrv) only inside a user's session, never on its login screen, and sends no logon
// notification of its own.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <freerdp/freerdp.h>
#include <freerdp/client/cliprdr.h>
#include <freerdp/channels/cliprdr.h>
#include <winpr/user.h>

#include "client.h"
#include "_cgo_export.h"

static CliprdrClientContext* g_clip;
static pthread_mutex_t g_clip_mu = PTHREAD_MUTEX_INITIALIZER;
static BYTE* g_clip_text; // UTF-16LE with its NUL, offered to the server
static UINT32 g_clip_len;

static UINT clip_send_format_list(CliprdrClientContext* c)
{
	CLIPRDR_FORMAT fmt = { CF_UNICODETEXT, NULL };
	CLIPRDR_FORMAT_LIST fl;
	memset(&fl, 0, sizeof(fl));
	fl.msgType = CB_FORMAT_LIST;
	pthread_mutex_lock(&g_clip_mu);
	fl.numFormats = g_clip_text ? 1 : 0;
	pthread_mutex_unlock(&g_clip_mu);
	fl.formats = fl.numFormats ? &fmt : NULL;
	return c->ClientFormatList(c, &fl);
}

static UINT clip_monitor_ready(CliprdrClientContext* c, const CLIPRDR_MONITOR_READY* r)
{
	(void)r;
	CLIPRDR_GENERAL_CAPABILITY_SET gen;
	memset(&gen, 0, sizeof(gen));
	gen.capabilitySetType = CB_CAPSTYPE_GENERAL;
	gen.capabilitySetLength = CB_CAPSTYPE_GENERAL_LEN;
	gen.version = CB_CAPS_VERSION_2;
	gen.generalFlags = CB_USE_LONG_FORMAT_NAMES;
	CLIPRDR_CAPABILITIES caps;
	memset(&caps, 0, sizeof(caps));
	caps.cCapabilitiesSets = 1;
	caps.capabilitySets = (CLIPRDR_CAPABILITY_SET*)&gen;
	UINT rc = c->ClientCapabilities(c, &caps);
	if (rc != CHANNEL_RC_OK)
		return rc;
	rc = clip_send_format_list(c);
	goClipReady();
	return rc;
}

static UINT clip_server_caps(CliprdrClientContext* c, const CLIPRDR_CAPABILITIES* caps)
{
	(void)c;
	(void)caps;
	return CHANNEL_RC_OK;
}

// The server has new clipboard content: acknowledge, and ask for it as text if it has text.
static UINT clip_server_format_list(CliprdrClientContext* c, const CLIPRDR_FORMAT_LIST* fl)
{
	CLIPRDR_FORMAT_LIST_RESPONSE resp;
	memset(&resp, 0, sizeof(resp));
	resp.msgType = CB_FORMAT_LIST_RESPONSE;
	resp.msgFlags = CB_RESPONSE_OK;
	UINT rc = c->ClientFormatListResponse(c, &resp);
	if (rc != CHANNEL_RC_OK)
		return rc;
	for (UINT32 i = 0; i < fl->numFormats; i++)
	{
		if (fl->formats[i].formatId == CF_UNICODETEXT)
		{
			CLIPRDR_FORMAT_DATA_REQUEST req;
			memset(&req, 0, sizeof(req));
			req.msgType = CB_FORMAT_DATA_REQUEST;
			req.requestedFormatId = CF_UNICODETEXT;
			return c->ClientFormatDataRequest(c, &req);
		}
	}
	return CHANNEL_RC_OK;
}

static UINT clip_server_format_list_response(CliprdrClientContext* c, const CLIPRDR_FORMAT_LIST_RESPONSE* r)
{
	(void)c;
	(void)r;
	return CHANNEL_RC_OK;
}

static UINT clip_server_data_response(CliprdrClientContext* c, const CLIPRDR_FORMAT_DATA_RESPONSE* r)
{
	(void)c;
	if ((r->msgFlags & CB_RESPONSE_OK) && r->requestedFormatData && r->dataLen > 0)
		goClipboard((void*)r->requestedFormatData, (int)r->dataLen);
	return CHANNEL_RC_OK;
}

static UINT clip_server_data_request(CliprdrClientContext* c, const CLIPRDR_FORMAT_DATA_REQUEST* req)
{
	CLIPRDR_FORMAT_DATA_RESPONSE resp;
	memset(&resp, 0, sizeof(resp));
	resp.msgType = CB_FORMAT_DATA_RESPONSE;
	pthread_mutex_lock(&g_clip_mu);
	BYTE* copy = NULL;
	if (req->requestedFormatId == CF_UNICODETEXT && g_clip_text)
	{
		copy = malloc(g_clip_len);
		if (copy)
		{
			memcpy(copy, g_clip_text, g_clip_len);
			resp.dataLen = g_clip_len;
		}
	}
	pthread_mutex_unlock(&g_clip_mu);
	resp.msgFlags = copy ? CB_RESPONSE_OK : CB_RESPONSE_FAIL;
	resp.requestedFormatData = copy;
	UINT rc = c->ClientFormatDataResponse(c, &resp);
	free(copy);
	return rc;
}

void vigil_clip_init(void* iface)
{
	CliprdrClientContext* c = (CliprdrClientContext*)iface;
	c->custom = c; // FreeRDP refuses to run the handlers without one
	c->MonitorReady = clip_monitor_ready;
	c->ServerCapabilities = clip_server_caps;
	c->ServerFormatList = clip_server_format_list;
	c->ServerFormatListResponse = clip_server_format_list_response;
	c->ServerFormatDataResponse = clip_server_data_response;
	c->ServerFormatDataRequest = clip_server_data_request;
	g_clip = c;
}

void vigil_clip_uninit(void)
{
	g_clip = NULL;
}

int vigil_clip_set(const void* utf16, int len)
{
	BYTE* b = malloc((size_t)len);
	if (!b)
		return -1;
	memcpy(b, utf16, (size_t)len);
	pthread_mutex_lock(&g_clip_mu);
	free(g_clip_text);
	g_clip_text = b;
	g_clip_len = (UINT32)len;
	pthread_mutex_unlock(&g_clip_mu);
	if (!g_clip)
		return -1;
	return clip_send_format_list(g_clip) == CHANNEL_RC_OK ? 0 : -1;
}
