/* zmtp3.c: the ZMTP 3.0 pieces both ends of the control socket speak. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zmtp3.h"

void
ucr_zmtp_greeting(uint8_t *out)
{
	memset(out, 0, UCR_ZMTP_GREETING);
	out[0] = 0xFF; /* signature: FF, 8 bytes of padding, 7F */
	out[9] = 0x7F;
	out[10] = 3; /* version 3.0 */
	out[11] = 0;
	memcpy(out + 12, "NULL", 4); /* mechanism, padded with zeros */
	/* as-server (32) 0 and the filler: zeros */
}

int
ucr_zmtp_greeting_check(const uint8_t *g, size_t have)
{
	static const uint8_t null[20] = "NULL";
	size_t n;

	if (have >= 1 && g[0] != 0xFF)
		return UCR_ZMTP_G_SIGNATURE;
	if (have >= 10 && g[9] != 0x7F)
		return UCR_ZMTP_G_SIGNATURE;
	if (have >= 11 && g[10] < 3)
		return UCR_ZMTP_G_VERSION;
	/* the mechanism as it arrives, so a wrong one stops at once */
	if (have > 12) {
		n = have - 12 < 20 ? have - 12 : 20;
		if (memcmp(g + 12, null, n) != 0)
			return UCR_ZMTP_G_MECHANISM;
	}
	return 0;
}

size_t
ucr_zmtp_head(uint8_t *out, uint8_t flags, uint64_t size)
{
	int i;

	if (size <= 255) {
		out[0] = flags;
		out[1] = (uint8_t)size;
		return 2;
	}
	out[0] = flags | UCR_ZMTP_LONG;
	for (i = 0; i < 8; i++)
		out[1 + i] = (uint8_t)(size >> (56 - 8 * i));
	return 9;
}

int
ucr_zmtp_head_parse(const uint8_t *h, size_t have, uint8_t *flags,
    uint64_t *size)
{
	size_t need, i;

	if ((h[0] & ~(UCR_ZMTP_MORE | UCR_ZMTP_LONG | UCR_ZMTP_CMD)) ||
	    ((h[0] & UCR_ZMTP_CMD) && (h[0] & UCR_ZMTP_MORE)))
		return -1;
	need = h[0] & UCR_ZMTP_LONG ? 9 : 2;
	if (have < need)
		return 0;
	*flags = h[0];
	for (*size = 0, i = 1; i < need; i++)
		*size = *size << 8 | h[i];
	return 1;
}

size_t
ucr_zmtp_ready(uint8_t *out, const char *type)
{
	size_t tlen = strlen(type), len;

	/* name: 05 "READY"; property: 0B "Socket-Type", 4-byte length */
	len = 1 + 5 + 1 + 11 + 4 + tlen;
	out[0] = UCR_ZMTP_CMD;
	out[1] = (uint8_t)len;
	out[2] = 5;
	memcpy(out + 3, "READY", 5);
	out[8] = 11;
	memcpy(out + 9, "Socket-Type", 11);
	out[20] = out[21] = out[22] = 0;
	out[23] = (uint8_t)tlen;
	memcpy(out + 24, type, tlen);
	return 2 + len;
}

int
ucr_zmtp_command(const uint8_t *cmd, size_t len, const uint8_t **name,
    size_t *namelen, const uint8_t **data, size_t *datalen)
{
	if (len < 1 || cmd[0] == 0 || cmd[0] > len - 1)
		return -1;
	*name = cmd + 1;
	*namelen = cmd[0];
	*data = cmd + 1 + cmd[0];
	*datalen = len - 1 - cmd[0];
	return 0;
}

int
ucr_zmtp_is(const uint8_t *name, size_t namelen, const char *s)
{
	return namelen == strlen(s) && memcmp(name, s, namelen) == 0;
}

int
ucr_zmtp_ready_type(const uint8_t *data, size_t len, const uint8_t **type,
    size_t *typelen)
{
	const uint8_t *p = data, *end = data + len;
	uint32_t vlen;
	size_t nlen;
	int found = 0;

	while (p < end) {
		nlen = *p++;
		if (nlen == 0 || nlen > (size_t)(end - p) ||
		    (size_t)(end - p) - nlen < 4)
			return -1;
		vlen = (uint32_t)p[nlen] << 24 | (uint32_t)p[nlen + 1] << 16 |
		    (uint32_t)p[nlen + 2] << 8 | p[nlen + 3];
		if (vlen > (size_t)(end - p) - nlen - 4)
			return -1;
		if (nlen == 11 &&
		    strncasecmp((const char *)p, "Socket-Type", 11) == 0) {
			*type = p + nlen + 4;
			*typelen = vlen;
			found = 1;
		}
		p += nlen + 4 + vlen;
	}
	return found ? 0 : 1;
}

void
ucr_zmtp_rd_init(struct ucr_zmtp_rd *rd)
{
	memset(rd, 0, sizeof(*rd));
	rd->state = UCR_ZMTP_RD_GREET;
}

void
ucr_zmtp_rd_free(struct ucr_zmtp_rd *rd)
{
	free(rd->cmd);
	rd->cmd = NULL;
}

void
ucr_zmtp_rd_resume(struct ucr_zmtp_rd *rd)
{
	if (rd->state == UCR_ZMTP_RD_PAUSED) {
		rd->have = 0;
		rd->dst = NULL;
		rd->state = UCR_ZMTP_RD_HEAD;
	}
}

/* Stop with a fault; returns used. */
static size_t
rd_stop(struct ucr_zmtp_rd *rd, int err, size_t used)
{
	rd->err = err;
	rd->state = UCR_ZMTP_RD_STOPPED;
	return used;
}

size_t
ucr_zmtp_rd_feed(struct ucr_zmtp_rd *rd, const uint8_t *buf, size_t len,
    const struct ucr_zmtp_ops *ops, void *ctx)
{
	const uint8_t *name, *data;
	size_t used = 0, n, namelen, datalen;
	int rc;

	for (;;) {
		switch (rd->state) {
		case UCR_ZMTP_RD_GREET:
			if (used == len)
				return used;
			n = UCR_ZMTP_GREETING - rd->have;
			if (n > len - used)
				n = len - used;
			memcpy(rd->hdr + rd->have, buf + used, n);
			rd->have += n;
			used += n;
			if ((rc = ucr_zmtp_greeting_check(rd->hdr, rd->have)))
				return rd_stop(rd, rc, used);
			if (rd->have == UCR_ZMTP_GREETING) {
				rd->have = 0;
				rd->state = UCR_ZMTP_RD_HEAD;
			}
			break;
		case UCR_ZMTP_RD_HEAD:
			if (used == len)
				return used;
			rd->hdr[rd->have++] = buf[used++];
			rc = ucr_zmtp_head_parse(rd->hdr, rd->have, &rd->flags,
			    &rd->size);
			if (rc < 0)
				return rd_stop(rd, UCR_ZMTP_E_FLAGS, used);
			if (rc == 0)
				break;
			rd->have = 0;
			rd->dst = NULL;
			if (rd->flags & UCR_ZMTP_CMD) {
				if (rd->size == 0 || rd->size > UCR_ZMTP_MAXCMD)
					return rd_stop(rd, UCR_ZMTP_E_CMDSIZE,
					    used);
				if ((rd->cmd = malloc(rd->size)) == NULL)
					return rd_stop(rd, UCR_ZMTP_E_NOMEM,
					    used);
				rd->state = UCR_ZMTP_RD_CMD;
				break;
			}
			if (ops->head(ctx, rd->flags, rd->size, &rd->dst) != 0)
				return rd_stop(rd, 0, used);
			rd->state = UCR_ZMTP_RD_BODY;
			break;
		case UCR_ZMTP_RD_CMD:
		case UCR_ZMTP_RD_BODY:
			n = rd->size - rd->have;
			if (n > len - used)
				n = len - used;
			if (n > 0 && rd->state == UCR_ZMTP_RD_CMD)
				memcpy(rd->cmd + rd->have, buf + used, n);
			else if (n > 0 && rd->dst != NULL)
				memcpy(rd->dst + rd->have, buf + used, n);
			rd->have += n;
			used += n;
			if (rd->have < rd->size)
				return used; /* all of buf taken */
			rd->have = 0;
			if (rd->state == UCR_ZMTP_RD_BODY) {
				rd->state = UCR_ZMTP_RD_HEAD;
				rc = ops->message(ctx, rd->flags, rd->size);
				rd->dst = NULL;
				if (rc < 0)
					return rd_stop(rd, 0, used);
				if (rc > 0) {
					rd->state = UCR_ZMTP_RD_PAUSED;
					return used;
				}
				break;
			}
			rd->state = UCR_ZMTP_RD_HEAD;
			rc = ucr_zmtp_command(rd->cmd, rd->size, &name,
			    &namelen, &data, &datalen);
			if (rc == 0)
				rc = ops->command(ctx, name, namelen, data,
				    datalen);
			else
				rd->err = UCR_ZMTP_E_COMMAND;
			free(rd->cmd);
			rd->cmd = NULL;
			if (rc != 0)
				return rd_stop(rd, rd->err, used);
			break;
		default: /* PAUSED, STOPPED: nothing more is taken */
			return used;
		}
	}
}
