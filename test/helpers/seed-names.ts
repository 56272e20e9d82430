// Names, MACs and addresses of configs/seed-dvr-snat.yaml (SCENARIO.md) that
// tests inject at and look for (configs/lab-dvr-snat.yaml keeps the VM's side).
export const SEED_FILE = 'configs/seed-dvr-snat.yaml';
export const QROUTER = 'qrouter-c4d4b760-41b9-45e1-a607-d054da99c479';
export const SNAT = 'snat-c4d4b760-41b9-45e1-a607-d054da99c479';
export const FIP = 'fip-4617ac50-7b34-4b05-811d-b2afc741d446';
/** The VM, its router's qr- port, the physical gateway behind eth3 (VLAN 103), the port fip-vif.103 that faces it. */
export const VM_MAC = 'fa:16:3e:b2:ef:af';
export const QR_MAC = 'fa:16:3e:06:d8:7b';
export const GW_MAC = '5c:c9:99:60:d2:71';
export const FIP_VIF_MAC = 'fa:17:3e:f7:cd:bc';
export const VM_IP = '192.168.1.7';
/** The router's external address (SNAT --to-source). */
export const SNAT_IP = '112.65.210.200';
export const VM_EDGE = ['w07', 'tap2ab77d0f-99'] as const;
export const ETH3 = ['w02', 'eth3'] as const;
