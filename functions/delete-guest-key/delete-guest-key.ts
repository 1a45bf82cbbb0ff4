import { DeleteKeyPairCommand, type EC2Client } from "@aws-sdk/client-ec2";
import type { DeleteGuestKeyEvent, DeleteGuestKeyResult } from "../domain/contract.js";

export interface DeleteGuestKeyDeps {
  ec2: EC2Client;
  /** Removes the stored private half (retireGuestKey). */
  retireStoredKey: (benchmarkId: string) => Promise<void>;
}

/**
 * Ends the benchmark's key pair once its runs are over: the EC2 key pair (by id, so that a key pair
 * of the same name made since is left alone), then the stored private half. Both succeed on what is
 * gone already, so a retry is harmless. A key pair this cannot delete, the sweeper does.
 */
export async function deleteGuestKey(
  event: DeleteGuestKeyEvent,
  deps: DeleteGuestKeyDeps,
): Promise<DeleteGuestKeyResult> {
  const { keyPairId } = event.guestKey;
  await deps.ec2.send(new DeleteKeyPairCommand({ KeyPairId: keyPairId }));
  await deps.retireStoredKey(event.benchmark.benchmarkId);
  return { keyPairId };
}
