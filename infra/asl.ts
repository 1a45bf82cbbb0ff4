/**
 * The parts of a rendered Amazon States Language definition that this repository reads (the run's
 * lifetime, the infra tests); other fields are allowed and ignored.
 */
export interface AslRetrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
}

export interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: Record<string, unknown>;
  ResultPath?: string | null;
  Next?: string;
  End?: boolean;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: AslRetrier[];
  Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  Branches?: AslDefinition[];
  ItemProcessor?: AslDefinition & { ProcessorConfig?: { Mode: string } };
  Iterator?: AslDefinition;
  [key: string]: unknown;
}

export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  [key: string]: unknown;
}
