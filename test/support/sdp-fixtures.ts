/** An SDP offer as baresip 1.0 sends it (G.722, PCMU, PCMA, telephone-event). */
export const BARESIP_OFFER = [
  'v=0',
  'o=- 1925385493 2851519004 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 10002 RTP/AVP 9 0 8 101',
  'b=AS:64',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n');
