// Adapter sets as files other runtimes load: Hugging Face PEFT LoRA (and back),
// and llama.cpp's GGUF LoRA.
export { AdapterExportError, type ResidualSitePolicy } from './materialised.js';
export {
  PEFT_CONFIG_FILE, PEFT_PREFIX, PEFT_WEIGHTS_FILE, exportPeft, peftTensorName, toPeft, writePeft,
  type PeftAdapter, type PeftExportOptions, type PeftLoraConfig, type PeftModuleReport,
} from './peft.js';
export { PeftFormatError, readPeft, readPeftState } from './peftReader.js';
export { exportGgufLora, toGgufLora, type GgufLoraAdapter, type GgufLoraModule, type GgufLoraOptions } from './ggufLora.js';
