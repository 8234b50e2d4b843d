/* SPDX-License-Identifier: MIT */
/*
 * The few WS-Management (DMTF DSP0226) SOAP messages Intel AMT power
 * control needs, built and read with libxml2: pure functions, no I/O.
 *
 *   power: CIM_PowerManagementService.RequestPowerStateChange (an Invoke)
 *          with PowerState 2 on, 8 off, 5 cycle, 10 reset, on the
 *          selector Name="Intel(r) AMT Power Management Service", for
 *          the ManagedElement CIM_ComputerSystem Name="ManagedSystem";
 *          the answer's ReturnValue is 0 on success.
 *   status: a WS-Transfer Get of CIM_AssociatedPowerManagementService;
 *          the answer's PowerState (2 on, 8 off...).
 *
 * The messages are one line (AMT does not care), so `--dry-run` prints
 * each as it is sent.  Answers are read by namespace, whatever prefixes
 * the firmware picked; an answer that is not well-formed XML with a
 * SOAP 1.2 Envelope is not an answer.
 */
#ifndef POWER_WSMAN_H
#define POWER_WSMAN_H

struct strbuf;

#define WSMAN_CIM "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
#define WSMAN_POWER_SERVICE WSMAN_CIM "CIM_PowerManagementService"
#define WSMAN_ASSOC_POWER WSMAN_CIM "CIM_AssociatedPowerManagementService"

/* CIM PowerState values (DSP1027) AMT takes or reports. */
enum wsman_power_state {
	WSMAN_ON = 2,
	WSMAN_SLEEP_LIGHT = 3,
	WSMAN_SLEEP_DEEP = 4,
	WSMAN_CYCLE = 5,	/* Power Cycle (Off - Soft) */
	WSMAN_OFF_HARD = 6,
	WSMAN_HIBERNATE = 7,
	WSMAN_OFF = 8,		/* Off - Soft */
	WSMAN_CYCLE_HARD = 9,
	WSMAN_RESET = 10,	/* Master Bus Reset */
};

/*
 * The RequestPowerStateChange envelope for power_state into out: to is
 * the endpoint URL (wsa:To), message_id a "uuid:..." string.
 */
void wsman_power_request(struct strbuf *out, const char *to,
			 const char *message_id, int power_state);
/* The WS-Transfer Get of CIM_AssociatedPowerManagementService. */
void wsman_status_request(struct strbuf *out, const char *to,
			  const char *message_id);
/* "uuid:xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" from 16 random bytes. */
void wsman_message_id(struct strbuf *out, const unsigned char rnd[16]);

/*
 * Read a RequestPowerStateChange answer.  0 and *return_value from
 * RequestPowerStateChange_OUTPUT; -LAB_EINFRA for a SOAP Fault (message:
 * the fault's subcode and reason) and for anything else.
 * Messages start with what (e.g. "AMT 10.1.2.3").
 */
int wsman_parse_power_answer(const char *xml, const char *what,
			     int *return_value);
/* Read the Get answer: 0 and *power_state, or as above. */
int wsman_parse_status_answer(const char *xml, const char *what,
			      int *power_state);

/* "Completed with No Error", "Not Supported"... for a ReturnValue. */
const char *wsman_return_value_name(int rv);
/* "On", "Off - Soft"... for a PowerState. */
const char *wsman_power_state_name(int ps);

#endif
