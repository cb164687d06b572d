/**
 * `message/sipfrag` (RFC 3420) as REFER's NOTIFYs use it (RFC 3515 §2.4.5): the status line of the
 * referred request's latest response.
 */

const STATUS_LINE = /^SIP\/2\.0[ \t]+(\d{3})(?:[ \t]+([^\r\n]*))?/;

/** The status code of a sipfrag body; undefined when it does not start with a status line. */
export function parseSipfragStatus(body: string): number | undefined {
  const m = STATUS_LINE.exec(body.trimStart());
  if (m === null) return undefined;
  const status = Number(m[1]);
  return status >= 100 && status <= 699 ? status : undefined;
}

/** A sipfrag body holding one status line. */
export function formatSipfrag(status: number, reason: string): string {
  return `SIP/2.0 ${status} ${reason.replace(/[\r\n]/g, ' ')}\r\n`;
}
